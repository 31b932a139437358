"""A file input for the browser: the user picks (or drops) a file on their own device and the server
receives its bytes, never a path. It is Vuetify's file input (``ipyvuetify.extra.FileInput``, which
Solara's own drop zone builds on) with a label; the size the browser reports is checked before a byte
is read, so an over-large file is refused without being transferred.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import solara
import traitlets
from ipyvuetify.extra import FileInput

log = logging.getLogger("retention_sim.dashboard")

TEMPLATE = """
<template>
  <div>
    <v-file-input v-model="myfiles" :label="label" :accept="accept" :multiple="false" show-size clearable
                  prepend-icon="mdi-upload" hide-details @change="setFiles" data-testid="upload" />
  </div>
</template>
<script>
modules.export = {
  created() { this.chunk_size = 1024 * 1024; },
  methods: {
    setFiles(e) {
      if (!e) { this.native_file_info = []; this.file_info = []; return; }
      this.native_file_info = e instanceof File ? [e] : e;
      this.file_info = this.native_file_info.map(({ name, size, lastModified }) => ({ name, size, modified: lastModified }));
    },
    jupyter_clear(name, size, modified) {
      /* only the file the server has handled: one picked since then stays */
      const f = (this.native_file_info || [])[0];
      if (!f || f.name !== name || f.size !== size || f.lastModified !== modified) { return; }
      this.myfiles = undefined; this.setFiles(false);
    },
    jupyter_read(chunk) {
      const { id, file_index, offset, length } = chunk;
      let to_do = length, sub_offset = offset;
      (async () => {
        while (to_do > 0) {
          const sub_length = Math.min(to_do, this.chunk_size);
          const blob = this.native_file_info[file_index].slice(sub_offset, sub_offset + sub_length);
          const buff = await blob.arrayBuffer();
          this.upload({ id, file_index, offset: sub_offset, length: sub_length }, [buff]);
          to_do -= sub_length; sub_offset += sub_length;
        }
      })();
    },
  },
};
</script>
"""


class _Input(FileInput):
    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    label = traitlets.Unicode().tag(sync=True)


@solara.component
def Upload(label: str, on_file: Callable[[str, int, Callable[[], bytes]], None], limit: int, accept: str = ""):
    """A labelled file input. For a chosen file, ``on_file(name, size, read)`` runs in a thread, where
    ``read()`` transfers the bytes; a file the browser says is larger than ``limit`` bytes is passed
    with a ``read`` that refuses, so the handler can say so without receiving it. Once handled, the file
    is taken out of the input, unless another one was picked meanwhile."""
    info, set_info = solara.use_state(None)
    files, set_files = solara.use_state(None)
    element = _Input.element(label=label, accept=accept, multiple=False, show_progress=False,
                             on_file_info=set_info)

    def wire():  # as Solara's FileDrop: readers for the chosen file, made where the widget is known
        if not info:
            return
        widget = solara.get_widget(element)
        widget.version += 1
        widget.reset_stats()
        set_files((widget, widget.get_files(timeout=20)))

    solara.use_effect(wire, [info])

    def receive(cancel: threading.Event):
        if not files or not files[1]:
            return
        widget, (f, *_) = files
        size = int(f.get("size") or 0)

        def read() -> bytes:
            if size > limit:
                raise ValueError("too large")
            return f["file_obj"].read(size)

        try:
            on_file(str(f.get("name") or ""), size, read)
        finally:
            # the input is emptied only if it still holds this file: the outcome above is shown before
            # this message arrives, and a file picked in between must not be emptied with it (it was,
            # and was never read: a resumed game never started)
            widget.send({"method": "clear", "args": [f.get("name"), f.get("size"), f.get("modified")]})

    solara.use_thread(receive, [files])
    return element
