"""Output folders people can trust.

Rules, for every command that writes a folder (``run``, ``compare`` and ``calibrate`` through
:func:`prepare`; ``sweep`` keeps its folder between runs to resume, see :mod:`sim.sweep`, under the
same marker and removal rules):

* Never delete or overwrite a file retention-sim did not write. Every folder it writes carries a
  marker file, ``.retention-sim``, listing the files it wrote and their SHA-256. A file is removed
  only if the marker lists it by a plain relative name inside the folder (no ``..``, no absolute
  path, no symbolic link on the way) and, where a hash was recorded, it still has that content
  (:func:`remove_listed`); a listed file whose content changed counts as the user's.
* The target folder may be missing or empty. A folder holding an earlier retention-sim output is
  replaced only with ``force=True``, and only if it holds nothing but the files that run wrote.
  Anything else (a file, a folder with other files, the current folder unless empty) is refused.
* Writability is checked before any work: :func:`prepare` creates the parent and a staging folder.
* Writes are atomic: everything goes into the staging folder, which is swapped into place by
  :meth:`Staging.commit`. On any exception, Ctrl-C or SIGTERM the staging folder is removed, whenever
  the signal arrives (creating it is a critical section, and a staging folder never entered or
  committed is removed at exit, :func:`discard_open`): after a signal an output folder is absent or
  complete. The staging folder is always beside the target (inside it only when the target is an
  empty folder whose parent cannot take it), so even a SIGKILL leaves the target as it was.
* A staging folder left behind by a killed process (``.retention-sim-staging-<pid>-<hex>`` holding a
  marker, whose pid is no longer alive on this host) is removed by the next :func:`prepare` there.

Every manifest carries :func:`provenance` (Python and library versions, the code's git commit).
Signal handling itself is :mod:`sim.signals`.

Usage::

    with signal_handlers():                 # SIGTERM -> Terminated; both signals wait out a commit
        with prepare(out, force=False) as staging:
            write_everything(staging.path)
            staging.commit()
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import functools
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

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
    except (OSError, ValueError, RecursionError):
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
    """Paths inside a previous output that its marker does not list (what the user added), and listed
    files whose content is no longer what was recorded (marked "changed")."""
    listed = {str(f) for f in marker.get("files", []) if plain_name(f)}
    hashes = marker.get("sha256") if isinstance(marker.get("sha256"), dict) else {}
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
            if path == MARKER:
                continue
            if path not in listed:
                foreign.append(path)
            elif (
                isinstance(hashes.get(path), str)
                and not (Path(root) / name).is_symlink()
                and file_sha256(Path(root) / name) != hashes[path]
            ):
                foreign.append(f"{path} (changed since retention-sim wrote it)")
    return sorted(foreign)


def plain_name(name: object) -> bool:
    """Whether a marker's entry is a plain relative path: components that are not empty, ``.`` or
    ``..``, no backslash or NUL, not absolute. Only such names are ever removed."""
    if not isinstance(name, str) or not name or len(name) > 4096 or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    return all(part not in ("", ".", "..") and len(part) <= 255 for part in name.split("/"))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def remove_listed(folder: str | Path, marker: dict | None, only=None) -> list[str]:
    """Remove the files that ``marker`` (a folder's marker) lists, and nothing else: only plain names
    (:func:`plain_name`) of regular files or links inside ``folder`` reached without a symbolic link
    on the way, whose content still has the SHA-256 the marker recorded (where it recorded one), and
    that ``only(name)`` accepts if given; then the folders they were in, if that left them empty.
    A crafted marker that lists ``../x`` or ``/etc/x`` removes nothing. Returns the names removed."""
    folder = Path(folder)
    if not isinstance(marker, dict) or not isinstance(marker.get("files"), list):
        return []
    hashes = marker.get("sha256") if isinstance(marker.get("sha256"), dict) else {}
    removed, parents = [], set()
    for name in marker["files"]:
        if not plain_name(name) or name == MARKER or (only is not None and not only(name)):
            continue
        parts = name.split("/")
        if any(
            (folder.joinpath(*parts[:i])).is_symlink() or not folder.joinpath(*parts[:i]).is_dir() for i in range(1, len(parts))
        ):
            continue
        path = folder.joinpath(*parts)
        if path.is_symlink():
            pass
        elif not path.is_file():
            continue
        elif isinstance(hashes.get(name), str) and file_sha256(path) != hashes[name]:
            continue
        path.unlink()
        removed.append(name)
        parents.update("/".join(parts[:i]) for i in range(1, len(parts)))
    for sub in sorted(parents, key=lambda p: -p.count("/")):
        with contextlib.suppress(OSError):
            folder.joinpath(*sub.split("/")).rmdir()  # only if empty
    return removed


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
        raise OutputRefused(
            target,
            "is the current folder and it is not empty; retention-sim writes only into "
            "a new or empty folder, so give one, e.g. --out results/run1 (nothing was touched)",
        )
    if real in cwd.parents:
        raise OutputRefused(
            target, "contains the current folder; give a new or empty folder, e.g. --out results/run1 (nothing was touched)"
        )
    marker = _read_marker(real)
    if marker is None or not isinstance(marker.get("files"), list):
        raise OutputRefused(
            target, "is not empty and was not written by retention-sim; choose a new or empty folder (nothing was touched)"
        )
    foreign = _foreign_entries(real, marker)
    if foreign:
        raise OutputRefused(
            target,
            f"holds an earlier retention-sim output plus files it did not write "
            f"({_short_list(foreign)}); move those away or choose another folder "
            f"(nothing was touched)",
        )
    if not force:
        raise OutputRefused(
            target,
            "holds the output of an earlier run; add --force to replace it, or choose another folder (nothing was touched)",
        )
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
        _OPEN.add(self)

    def __enter__(self) -> Staging:
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
            _OPEN.discard(self)

    def commit(self) -> Path:
        """Put the staged files in place: all of them, or (on error) none. Returns the target."""
        if self.committed:
            return self.target
        with _critical():
            files = _written_files(self.path)
            hashes = {
                f: file_sha256(self.path / f) for f in files if (self.path / f).is_file() and not (self.path / f).is_symlink()
            }
            _write_marker(self.path / MARKER, {"written_by": WRITTEN_BY, "version": _version(), "files": files, "sha256": hashes})
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
            _OPEN.discard(self)
        return self.target

    def _commit_new(self) -> None:
        try:
            os.rename(self.path, self.target)
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise OutputRefused(
                    self.shown, "was created by something else during the run; nothing was written, choose another folder"
                ) from None
            raise

    def _commit_fill(self) -> None:
        if not self.target.is_dir() or self.target.is_symlink():
            raise OutputRefused(self.shown, "was removed or replaced during the run; nothing was written, choose another folder")
        names = [e.name for e in self.path.iterdir()]
        clash = [n for n in names if (self.target / n).exists() or (self.target / n).is_symlink()]
        others = [e.name for e in self.target.iterdir() if e != self.path and not _OWN_NAME.match(e.name)]
        if clash or others:
            raise OutputRefused(
                self.shown,
                f"received other files during the run ({_short_list(sorted(others or clash))}); "
                "nothing was written, choose another folder",
            )
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
            raise OutputRefused(self.shown, "changed during the run and is no longer a retention-sim output; nothing was written")
        foreign = _foreign_entries(self.target, marker)
        if foreign:
            raise OutputRefused(
                self.shown,
                f"received files during the run ({_short_list(foreign)}); nothing was replaced, move them away and run again",
            )
        if _exchange(self.path, self.target):  # one atomic step: a kill leaves the old or the new output
            with contextlib.suppress(OSError):
                _remove_tree(self.path)  # now the previous output
            return
        old = _fresh_name(self.target.parent, _OLD)
        os.rename(self.target, old)
        try:
            os.rename(self.path, self.target)
        except OSError:
            os.rename(old, self.target)  # put the previous output back
            raise
        with contextlib.suppress(OSError):
            _remove_tree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or file system cannot, and the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        rename = libc.renameat2
    except (OSError, AttributeError):
        return False
    rename.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_cwd, exchange = -100, 2
    if rename(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


_OPEN: set[Staging] = set()  # staging folders neither committed nor discarded yet


def discard_open() -> None:
    """Remove every staging folder of this process that was neither committed nor discarded: one a
    signal left between its creation and the ``with`` block meant to own it. Run at exit, and by the
    command before it returns."""
    for staging in list(_OPEN):
        staging.discard()


atexit.register(discard_open)


def _version() -> str:
    from . import __version__

    return __version__


def _write_marker(path: Path, data: dict) -> None:
    """The marker's one format: ``data`` as indented JSON with sorted keys, to the file ``path``."""
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


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
    parent = target.parent if mode != "fill" or _beside_ok(target) else target
    created: list[Path] = []
    staging: Staging | None = None
    try:
        with _critical():  # a signal waits until the staging folder exists and is owned, then discards it
            created = _make_parents(parent)
            clean_stale(parent)
            if mode == "fill" and parent != target:
                clean_stale(target)  # an earlier version staged inside an empty target
            path = _fresh_name(parent, _STAGING)
            path.mkdir()
            staging = Staging(target, path, mode, created, shown=str(out))
            _write_marker(path / MARKER, {"written_by": WRITTEN_BY, "pid": os.getpid(), "host": socket.gethostname()})
    except BaseException as err:
        if staging is not None:
            staging.discard()
        else:
            for c in reversed(created):
                with contextlib.suppress(OSError):
                    c.rmdir()
        if not isinstance(err, OSError):
            raise
        culprit = Path(err.filename) if err.filename else None
        if culprit is not None and culprit.name.startswith(_STAGING):
            culprit = culprit.parent
        where = f" ({culprit})" if culprit is not None else ""
        raise OutputUnwritable(
            out, f"cannot write here: {err.strerror or err}{where}; nothing was simulated or written"
        ) from None
    return staging


def _beside_ok(target: Path) -> bool:
    """Whether an empty target's staging folder can go beside it (the parent is writable and on the
    same file system, so the files can be moved in), rather than inside it."""
    parent = target.parent
    try:
        return parent != target and os.access(parent, os.W_OK | os.X_OK) and parent.stat().st_dev == target.stat().st_dev
    except OSError:
        return False


# --- provenance ------------------------------------------------------------------------------------


def provenance() -> dict:
    """What a result was produced with, for every manifest: the Python, numpy, numba and pandas
    versions, and where the package runs from a git checkout its commit and whether the checkout had
    uncommitted changes (None where there is no checkout or no git; this never fails)."""
    import platform
    from importlib import metadata

    out: dict = {"python": platform.python_version()}
    for name in ("numpy", "numba", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    commit, dirty = _git_state()
    out["git_commit"], out["git_dirty"] = commit, dirty
    return out


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None, None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        if head.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", head.stdout.strip()):
            return None, None
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        return head.stdout.strip(), (bool(status.stdout.strip()) if status.returncode == 0 else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def _json_safe(o):
    """``o`` with NaN and infinities as None (JSON has no NaN) and numpy numbers as Python numbers."""
    if isinstance(o, dict):
        return {k: _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if hasattr(o, "item") and type(o).__module__ == "numpy":
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


# --- what a run writes ---------------------------------------------------------------------------


def write_run_files(result, folder: str | Path, plots: bool = True) -> None:
    """Write the tables, summary, manifest and (optionally) plots of a :class:`~sim.results.RunResult`
    into ``folder`` (not atomic by itself: ``folder`` is a staging folder), with :func:`provenance` in
    ``manifest.json`` (where the result's own manifest lacks it)."""
    folder = Path(folder)
    result.write_files(folder, plots=plots)
    add_provenance(folder / "manifest.json")


def add_provenance(path: Path) -> None:
    """Add the keys of :func:`provenance` that a written manifest lacks."""
    if not path.is_file():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    missing = {k: v for k, v in provenance().items() if k not in data}
    if missing:
        path.write_text(json.dumps({**data, **missing}, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_run(result, out: str | Path, plots: bool = True, force: bool = False) -> Path:
    """Write a run's outputs into ``out`` atomically, under the rules of this module."""
    with prepare(out, force=force) as staging:
        write_run_files(result, staging.path, plots=plots)
        return staging.commit()


# --- study folders: kept between runs, so that the same command resumes -------------------------


def prepare_study(out: Path, kind: str, digest: str, force: bool, files: list[str], outputs_names: tuple[str, ...]) -> bool:
    """Make ``out`` ready for a resumable study of ``kind`` (``"optimise"``, ``"calibrate"``): new or
    empty (returns False), this very study interrupted or finished (its marker's ``kind`` entry equals
    ``digest``: resumed, returns True), or with ``force`` an earlier retention-sim output to replace
    (only the files its marker lists, :func:`remove_listed`). Anything else is refused
    (:class:`OutputRefused`). A write of ours cut short by a kill (``.NAME.PID.tmp`` of a name in
    ``outputs_names`` or of the marker) is removed first. The marker lists ``files`` from the start."""
    if out.exists() and not out.is_dir():
        raise OutputRefused(out, "exists and is a file, not a folder; choose a folder name for the study")
    if out.is_dir():
        for leftover in out.glob(".*.tmp"):
            if any(leftover.name.startswith(f".{n}.") for n in (*outputs_names, MARKER)):
                leftover.unlink(missing_ok=True)
        marker = _read_marker(out)
        if marker is not None and marker.get(kind) == digest:
            return True
        if any(out.iterdir()):
            try:
                _inspect(out, force)
            except OutputRefused as err:
                if marker is not None and marker.get(kind):
                    raise OutputRefused(
                        out,
                        f"holds a different {kind} study (its file, its scenario, its seed or the package version "
                        "changed); add --force to start it over, or choose another folder (nothing was touched)",
                    ) from None
                raise err
            remove_listed(out, marker or {})
            (out / MARKER).unlink(missing_ok=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".{os.getpid()}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OutputUnwritable(out, f"cannot write here: {err.strerror or err}") from None
    write_study_marker(out, kind, digest, files)
    return False


def write_study_marker(out: Path, kind: str, digest: str, files: list[str]) -> None:
    """A study folder's marker: written by retention-sim, which files, and the study's digest under
    ``kind`` (the resume key). Replaced atomically."""
    data = {"written_by": WRITTEN_BY, "version": _version(), "files": sorted(set(files)), kind: digest}
    write_atomically(out / MARKER, lambda p: _write_marker(p, data))


@contextlib.contextmanager
def study_lock(out: Path, lock: str, command: str):
    """One command at a time on a study folder: an exclusive lock on ``out/lock``, which goes when the
    process ends, however it ends; a second ``command`` there is refused with one line."""
    import fcntl

    fh = open(out / lock, "a")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputRefused(
                out, f"another retention-sim {command} is running on this folder; wait for it to finish or choose another folder"
            ) from None
        yield
    finally:
        fh.close()


def write_atomically(path: Path, write) -> None:
    """``write(tmp)`` a file beside ``path`` (``.NAME.PID.tmp``), then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)
