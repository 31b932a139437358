"""Output folders people can trust.

Rules, for every command that writes a folder (``run`` now; ``compare`` and ``sweep`` later):

* Never delete or overwrite a file retention-sim did not write. Every folder it writes carries a
  marker file, ``.retention-sim``, listing the files it wrote.
* The target folder may be missing or empty. A folder holding an earlier retention-sim output is
  replaced only with ``force=True``, and only if it holds nothing but the files that run wrote.
  Anything else (a file, a folder with other files, the current folder unless empty) is refused.
* Writability is checked before any work: :func:`prepare` creates the parent and a staging folder.
* Writes are atomic: everything goes into the staging folder, which is swapped into place by
  :meth:`Staging.commit`. On any exception, Ctrl-C or SIGTERM the staging folder is removed.
* A staging folder left behind by a killed process (``.retention-sim-staging-<pid>-<hex>`` holding a
  marker, whose pid is no longer alive on this host) is removed by the next :func:`prepare` there.

Usage::

    with signal_handlers():                 # SIGTERM -> Terminated; both signals wait out a commit
        with prepare(out, force=False) as staging:
            write_everything(staging.path)
            staging.commit()
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

# Signal handling lives in sim.signals, below the engine; these names stay importable from here.
from .signals import HOLD_AT_MOST, Terminated, _critical, deferred_signals, signal_handlers  # noqa: F401

MARKER = ".retention-sim"
WRITTEN_BY = "retention-sim"
_STAGING = ".retention-sim-staging-"
_OLD = ".retention-sim-old-"
_OWN_NAME = re.compile(r"^\.retention-sim-(?:staging|old)-(\d+)-[0-9a-f]{8}$")


class OutputError(Exception):
    """An output folder cannot be used. ``path`` is the folder, ``reason`` says why and what to do."""

    exit_code = 1

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class OutputRefused(OutputError):
    """The folder is not ours to write (a file, someone else's files, a previous run without force)."""

    exit_code = 2


class OutputUnwritable(OutputError):
    """The environment does not let us write there (permissions, missing device, disk full)."""

    exit_code = 1


# --- markers and recognising our own folders -----------------------------------------------------

def _read_marker(folder: Path) -> dict | None:
    """The marker of ``folder`` if it is a real (not symlinked) retention-sim marker, else None."""
    marker = folder / MARKER
    try:
        if marker.is_symlink() or not marker.is_file() or marker.stat().st_size > 10_000_000:
            return None
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == WRITTEN_BY else None


def is_output(folder: str | Path) -> bool:
    """True if ``folder`` is a complete retention-sim output (it carries a finished marker)."""
    folder = Path(folder)
    data = _read_marker(folder) if folder.is_dir() and not folder.is_symlink() else None
    return bool(data) and isinstance(data.get("files"), list)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    try:  # a zombie has finished: its staging folder is stale
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_own_leftover(entry: Path) -> bool:
    """A staging or swapped-out folder this program made, whose process is gone (on this host)."""
    m = _OWN_NAME.match(entry.name)
    if not m or entry.is_symlink() or not entry.is_dir():
        return False
    data = _read_marker(entry)
    if data is None:
        return False
    pid = int(m.group(1))
    finished = isinstance(data.get("files"), list)  # killed between writing the final marker and the move
    if entry.name.startswith(_STAGING) and not finished and (data.get("pid") != pid or data.get("host") != socket.gethostname()):
        return False
    return not _pid_alive(pid)


def clean_stale(folder: str | Path) -> list[Path]:
    """Remove the leftovers of killed retention-sim processes in ``folder`` (and nothing else)."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        try:
            if _is_own_leftover(entry):
                _remove_tree(entry)
                removed.append(entry)
        except OSError:
            pass
    return removed


def _remove_tree(folder: Path) -> None:
    """Remove a folder we made; its marker goes last, so a half-removed folder stays recognisable."""
    for entry in folder.iterdir():
        if entry.name == MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    with contextlib.suppress(FileNotFoundError):
        (folder / MARKER).unlink()
    folder.rmdir()


def _written_files(folder: Path) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]:
            path = (rel / name).as_posix()
            if path != MARKER:
                out.append(path)
    return sorted(out)


def _foreign_entries(folder: Path, marker: dict) -> list[str]:
    """Paths inside a previous output that its marker does not list (what the user added)."""
    listed = {str(f) for f in marker.get("files", []) if isinstance(f, str)}
    ours_dirs = {p.as_posix() for f in listed for p in Path(f).parents if p != Path(".")}
    foreign = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        keep_dirs = []
        for d in dirs:
            path = (rel / d).as_posix()
            full = Path(root) / d
            if rel == Path(".") and _OWN_NAME.match(d) and _read_marker(full) is not None:
                continue  # a staging folder of ours (a fill that was killed)
            if full.is_symlink() or path not in ours_dirs:
                foreign.append(path + ("" if full.is_symlink() else "/"))
            else:
                keep_dirs.append(d)
        dirs[:] = keep_dirs
        for name in files:
            path = (rel / name).as_posix()
            if path != MARKER and path not in listed:
                foreign.append(path)
    return sorted(foreign)


def _short_list(items: list[str], n: int = 3) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


# --- preparing, committing, discarding -----------------------------------------------------------

def _inspect(target: Path, force: bool) -> str:
    """Decide how to write ``target``: 'new', 'fill' (an existing empty folder) or 'replace'.
    Raise :class:`OutputRefused` when the folder is not ours to write."""
    if not target.exists():
        return "new"
    if not target.is_dir():
        raise OutputRefused(target, "exists and is a file, not a folder; choose a folder name for the outputs")
    cwd = Path.cwd().resolve()
    real = target.resolve()
    try:
        entries = [e for e in real.iterdir() if not (_OWN_NAME.match(e.name) and _is_own_leftover(e))]
    except OSError as err:
        raise OutputUnwritable(target, f"cannot look inside: {err.strerror or err}") from None
    if not entries:
        return "fill"
    if real == cwd:
        raise OutputRefused(target, "is the current folder and it is not empty; retention-sim writes only into "
                                    "a new or empty folder, so give one, e.g. --out results/run1 (nothing was touched)")
    if real in cwd.parents:
        raise OutputRefused(target, "contains the current folder; give a new or empty folder, e.g. --out results/run1 "
                                    "(nothing was touched)")
    marker = _read_marker(real)
    if marker is None or not isinstance(marker.get("files"), list):
        raise OutputRefused(target, "is not empty and was not written by retention-sim; choose a new or empty folder "
                                    "(nothing was touched)")
    foreign = _foreign_entries(real, marker)
    if foreign:
        raise OutputRefused(target, f"holds an earlier retention-sim output plus files it did not write "
                                    f"({_short_list(foreign)}); move those away or choose another folder "
                                    f"(nothing was touched)")
    if not force:
        raise OutputRefused(target, "holds the output of an earlier run; add --force to replace it, "
                                    "or choose another folder (nothing was touched)")
    return "replace"


class Staging:
    """A staging folder to write into (``path``), swapped into ``target`` by :meth:`commit`.

    Use as a context manager: leaving the block by an exception (or a signal, under
    :func:`signal_handlers`) or without committing removes the staging folder and any parent
    folders :func:`prepare` created, so nothing half-written remains.
    """

    def __init__(self, target: Path, path: Path, mode: str, created: list[Path], shown: str | None = None):
        self.target = target
        self.shown = shown or str(target)
        self.path = path
        self.mode = mode
        self.committed = False
        self._created = created

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.committed:
            self.discard()

    def discard(self) -> None:
        """Remove the staging folder and the parents :func:`prepare` created (if empty)."""
        with _critical():
            with contextlib.suppress(OSError):
                if self.path.exists():
                    _remove_tree(self.path)
            for folder in reversed(self._created):
                with contextlib.suppress(OSError):
                    folder.rmdir()

    def commit(self) -> Path:
        """Put the staged files in place: all of them, or (on error) none. Returns the target."""
        if self.committed:
            return self.target
        with _critical():
            files = _written_files(self.path)
            _write_marker(self.path, {"written_by": WRITTEN_BY, "version": _version(), "files": files})
            try:
                if self.mode == "new":
                    self._commit_new()
                elif self.mode == "fill":
                    self._commit_fill()
                else:
                    self._commit_replace()
            except OSError as err:
                raise OutputUnwritable(self.shown, f"cannot put the outputs in place: {err.strerror or err}") from None
            self.committed = True
        return self.target

    def _commit_new(self) -> None:
        try:
            os.rename(self.path, self.target)
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise OutputRefused(self.shown, "was created by something else during the run; "
                                                 "nothing was written, choose another folder") from None
            raise

    def _commit_fill(self) -> None:
        names = [e.name for e in self.path.iterdir()]
        clash = [n for n in names if (self.target / n).exists() or (self.target / n).is_symlink()]
        others = [e.name for e in self.target.iterdir() if e != self.path and not _OWN_NAME.match(e.name)]
        if clash or others:
            raise OutputRefused(self.shown, f"received other files during the run ({_short_list(sorted(others or clash))}); "
                                             "nothing was written, choose another folder")
        # the marker first: from then on the folder is recognisably ours, even if we are killed
        order = [MARKER] + sorted(n for n in names if n != MARKER)
        moved = []
        try:
            for name in order:
                os.rename(self.path / name, self.target / name)
                moved.append(name)
        except OSError:
            for name in reversed(moved):  # take back what was moved: all or nothing
                with contextlib.suppress(OSError):
                    os.rename(self.target / name, self.path / name)
            raise
        self.path.rmdir()

    def _commit_replace(self) -> None:
        marker = _read_marker(self.target)
        if marker is None:
            raise OutputRefused(self.shown, "changed during the run and is no longer a retention-sim output; "
                                             "nothing was written")
        foreign = _foreign_entries(self.target, marker)
        if foreign:
            raise OutputRefused(self.shown, f"received files during the run ({_short_list(foreign)}); "
                                             "nothing was replaced, move them away and run again")
        old = _fresh_name(self.target.parent, _OLD)
        os.rename(self.target, old)
        try:
            os.rename(self.path, self.target)
        except OSError:
            os.rename(old, self.target)  # put the previous output back
            raise
        with contextlib.suppress(OSError):
            _remove_tree(old)


def _version() -> str:
    from . import __version__

    return __version__


def _write_marker(folder: Path, data: dict) -> None:
    (folder / MARKER).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _fresh_name(parent: Path, prefix: str) -> Path:
    return parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"


def _make_parents(folder: Path) -> list[Path]:
    """``mkdir -p folder``, returning the folders it created (outermost first)."""
    missing = []
    p = folder
    while not p.exists() and not p.is_symlink() and p != p.parent:
        missing.append(p)
        p = p.parent
    created = []
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        except OSError:
            for c in reversed(created):
                with contextlib.suppress(OSError):
                    c.rmdir()
            raise
        created.append(p)
    return created


def prepare(out: str | Path, force: bool = False) -> Staging:
    """Check that ``out`` may be written and make a staging folder for it, before any work is done.

    Raises :class:`OutputRefused` (a file; a folder holding other files; a previous output without
    ``force``; the current folder unless empty) or :class:`OutputUnwritable` (the parent or the
    staging folder cannot be created). Leftover staging folders of killed runs there are removed.
    """
    target = Path(out).expanduser()
    try:
        target = Path(os.path.abspath(target))
        if target.exists() or target.is_symlink():
            target = target.resolve()  # write where a symlink points, and judge that folder
        mode = _inspect(target, force)
    except OutputError as err:
        raise type(err)(out, err.reason) from None
    except RuntimeError as err:  # a symlink loop (Python < 3.13)
        raise OutputRefused(out, f"cannot be resolved: {err}") from None
    except OSError as err:
        raise OutputUnwritable(out, f"cannot use this folder: {err.strerror or err}") from None
    # in a 'fill' the staging folder goes inside the (empty) target: same file system, and it works
    # for the current folder and for mount points; otherwise beside the target
    parent = target if mode == "fill" else target.parent
    created: list[Path] = []
    try:
        created = _make_parents(parent)
        clean_stale(parent)
        path = _fresh_name(parent, _STAGING)
        path.mkdir()
        try:
            _write_marker(path, {"written_by": WRITTEN_BY, "pid": os.getpid(), "host": socket.gethostname()})
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
    except OSError as err:
        for c in reversed(created):
            with contextlib.suppress(OSError):
                c.rmdir()
        culprit = Path(err.filename) if err.filename else None
        if culprit is not None and culprit.name.startswith(_STAGING):
            culprit = culprit.parent
        where = f" ({culprit})" if culprit is not None else ""
        raise OutputUnwritable(out, f"cannot write here: {err.strerror or err}{where}; nothing was simulated or written") from None
    except BaseException:
        for c in reversed(created):
            with contextlib.suppress(OSError):
                c.rmdir()
        raise
    return Staging(target, path, mode, created, shown=str(out))


# --- what a run writes ---------------------------------------------------------------------------

def write_run_files(result, folder: str | Path, plots: bool = True) -> None:
    """Write the tables, summary, manifest and (optionally) plots of a :class:`~sim.results.RunResult`
    into ``folder`` (not atomic by itself: ``folder`` is a staging folder)."""
    result.write_files(Path(folder), plots=plots)


def write_run(result, out: str | Path, plots: bool = True, force: bool = False) -> Path:
    """Write a run's outputs into ``out`` atomically, under the rules of this module."""
    with prepare(out, force=force) as staging:
        write_run_files(result, staging.path, plots=plots)
        return staging.commit()
