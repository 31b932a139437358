"""Which scenarios the dashboard offers, and how it takes a file from a browser.

The server never opens a path that a browser chose. A browser picks a scenario by **name** from a
list the command's user made: the shipped scenarios, the scenario the command started with, and the
``.toml`` files directly inside the folder given with ``retention-sim dashboard --scenarios DIR``.
Anything else reaches the server as an **upload**: bytes, size-limited, parsed as data only. An
uploaded scenario may extend an offered scenario by its name, never a path, and messages about it name
the upload and the key, never where the server keeps a file.

Uploaded scenarios are kept in memory (a bounded number, oldest dropped first) under a key the
dashboard's settings carry; nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import tomllib
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from ..params import Scenario
from ..scenario import ScenarioError, load, shipped_scenarios

SCENARIOS_ENV = "RETENTION_SIM_DASHBOARD_SCENARIOS"  # the --scenarios folder
START_ENV = "RETENTION_SIM_DASHBOARD_SCENARIO"  # the scenario the command started with (a name or a path)
MAX_UPLOAD_BYTES = 256 * 1024  # a scenario file is a few kB; the largest shipped one is under 10 kB
MAX_UPLOADS = 64  # uploaded scenarios kept in memory (all sessions together)
UPLOAD_PREFIX = "upload:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,79}$")


class UploadError(ValueError):
    """An upload the dashboard refuses; ``str()`` is one line for the page (names the file and key)."""


def safe_filename(name: object) -> str:
    """The browser's file name as something fit to show: its last part, printable, at most 80 characters."""
    text = str(name or "the file").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable()).strip() or "the file"
    return text if len(text) <= 80 else text[:77] + "..."


# ----------------------------------------------------------------------------------- offered by name
def folder() -> Path | None:
    """The --scenarios folder, if the command was given one."""
    value = os.environ.get(SCENARIOS_ENV)
    return Path(value) if value else None


def folder_scenarios(where: Path | None) -> dict[str, Path]:
    """The ``.toml`` files directly inside ``where`` (not in subfolders, no hidden files), by file stem."""
    if where is None:
        return {}
    out = {}
    for p in sorted(where.iterdir()):
        if p.suffix == ".toml" and not p.name.startswith(".") and p.is_file() and _NAME.match(p.stem):
            out[p.stem] = p
    return out


def offered() -> dict[str, Path]:
    """Every scenario a browser may pick by name: shipped, the --scenarios folder's (a shipped name
    keeps its shipped file), and the one the command started with (by its file's stem)."""
    out = {**folder_scenarios(folder()), **shipped_scenarios()}
    start = os.environ.get(START_ENV)
    if start and start not in out:
        path = Path(start)
        offered_files = {p.resolve() for p in out.values()}
        if path.is_file() and path.resolve() not in offered_files:
            name = path.stem if path.stem not in out else f"{path.stem} (started with)"
            out[name] = path
    return dict(sorted(out.items()))


def start_name() -> str:
    """The offered name of the scenario the command started with (default: telecom)."""
    start = os.environ.get(START_ENV) or "telecom"
    names = offered()
    if start in names:
        return start
    resolved = Path(start).resolve()
    return next((n for n, p in names.items() if p.resolve() == resolved), "telecom")


@lru_cache(maxsize=64)
def _load_file(path: str, mtime: float) -> Scenario:
    return load(path)


# ----------------------------------------------------------------------------------- uploads
_uploads: OrderedDict[str, tuple[str, Scenario]] = OrderedDict()
_lock = threading.Lock()


def is_upload(key: str) -> bool:
    return key.startswith(UPLOAD_PREFIX)


def label(key: str) -> str:
    """How a scenario key is shown: an offered name as it is, an upload as '<file> (uploaded)'."""
    if is_upload(key):
        with _lock:
            item = _uploads.get(key)
        return f"{item[0] if item else 'a file'} (uploaded)"
    return key


def scenario(key: str) -> Scenario:
    """The validated scenario of an offered name or an upload's key; ScenarioError otherwise (its
    message names the key, not a path)."""
    if is_upload(key):
        with _lock:
            item = _uploads.get(key)
            if item is not None:
                _uploads.move_to_end(key)
        if item is None:
            raise ScenarioError("uploaded scenario", [(None, "is no longer kept by the server; upload it again")])
        return item[1]
    path = offered().get(key)
    if path is None:
        raise ScenarioError(str(key)[:80], [(None, "is not one of the scenarios offered here")])
    try:
        return _load_file(str(path.resolve()), path.stat().st_mtime)
    except OSError as err:
        raise ScenarioError(key, [(None, f"cannot be read ({err.strerror or 'unreadable'})")]) from None
    except ScenarioError as err:
        raise ScenarioError(
            key, [(None, err.items[0][2] if err.items[0][1] is None else f"{err.items[0][1]}: {err.items[0][2]}")]
        ) from None


def read_upload(
    filename: object, data: bytes | None, size: int | None = None, limit: int = MAX_UPLOAD_BYTES
) -> tuple[str, bytes]:
    """Check an upload's size (before its bytes are read, where the browser says it) and return its
    shown name and bytes."""
    name = safe_filename(filename)
    if size is not None and size > limit:
        raise UploadError(f"{name}: is {size:,} bytes; the limit is {limit:,}")
    if data is None:
        raise UploadError(f"{name}: nothing was received")
    if len(data) > limit:
        raise UploadError(f"{name}: is {len(data):,} bytes; the limit is {limit:,}")
    return name, data


def parse_toml(name: str, data: bytes) -> dict:
    """An uploaded TOML file as a dict; one line naming the file and what is wrong, never its content."""
    if b"\x00" in data:
        raise UploadError(f"{name}: is a binary file, not a scenario (a scenario is a TOML text file)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UploadError(f"{name}: is not UTF-8 text (line {line})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(err))  # where, never what
        where = f" (line {at.group(1)}, column {at.group(2)})" if at else ""
        raise UploadError(f"{name}: not valid TOML{where}") from None
    except RecursionError:
        raise UploadError(f"{name}: nested too deeply to be a scenario") from None
    if not raw:
        raise UploadError(f"{name}: has no settings (it is empty or only comments)")
    return raw


def upload(filename: object, data: bytes | None, size: int | None = None) -> str:
    """Validate an uploaded scenario file and keep it; returns its key for the dashboard's settings.
    It may extend an offered scenario by name (``extends = "telecom"``)."""
    name, data = read_upload(filename, data, size)
    raw = parse_toml(name, data)
    try:
        sc = load(raw, source=name, bases=offered())
    except ScenarioError as err:
        raise UploadError(err.one_line(limit=1)) from None
    except RecursionError:
        raise UploadError(f"{name}: nested too deeply to be a scenario") from None
    key = UPLOAD_PREFIX + hashlib.sha256(data).hexdigest()[:16]
    with _lock:
        _uploads[key] = (name, sc)
        _uploads.move_to_end(key)
        while len(_uploads) > MAX_UPLOADS:
            _uploads.popitem(last=False)
    return key
