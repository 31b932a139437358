"""Compilation of the model's rules.

Every rule of the model is one small scalar function, written once and decorated with :func:`rule`:
numba compiles it (no GIL, numpy error model) for the per-customer pass of :mod:`sim.kernel`, and the
same function is what a unit test calls from Python. With ``NUMBA_DISABLE_JIT=1`` every rule is plain
Python, so the whole engine can be stepped through in a debugger.

Compiled code is cached on disk. numba checks only the source file of the function it caches, not the
files of the rules that function calls, so a changed rule could run stale code. We therefore keep the
cache in a folder named by a fingerprint of the package's source files that compiled code depends on
(every module except those in :data:`NOT_COMPILED`, the user interface and the experiment layer;
``~/.cache/retention-sim/numba-<fingerprint>``, or ``$RETENTION_SIM_CACHE``): any change to such a
file compiles afresh. The first run after an install or an upgrade prints one line saying so.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import numba

PACKAGE = Path(__file__).resolve().parent
DISABLED = bool(numba.config.DISABLE_JIT)


# modules that hold neither compiled rules nor constants that compiled rules read: editing them does not
# invalidate the compiled code (every other module of the package counts, new ones included)
NOT_COMPILED = {"__init__.py", "allocator.py", "calibrate.py", "cli.py", "compare.py", "docs_gen.py", "engine.py",
                "game.py", "metrics.py", "model.py", "outputs.py", "params.py", "plots.py", "reference.py", "report.py",
                "results.py", "scenario.py", "sweep.py", "sweep_worker.py"}
NOT_COMPILED_DIRS = {"dashboard", "optimise", "patterns"}  # user interface, search and validation: no compiled code


def fingerprint() -> str:
    """A short hash of the package's source files that compiled code depends on (names and contents)."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE and path.name in NOT_COMPILED:
            continue
        if path.relative_to(PACKAGE).parts[0] in NOT_COMPILED_DIRS:
            continue
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(path.read_bytes())
    h.update(f"{numba.__version__} {sys.version_info[:2]}".encode())
    return h.hexdigest()[:16]


def _cache_root() -> Path:
    explicit = os.environ.get("RETENTION_SIM_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "retention-sim"


CACHE_DIR = _cache_root() / f"numba-{fingerprint()}"


def rule(fn=None, **options):
    """Compile ``fn`` as a rule of the model (usable bare, ``@rule``, or with numba options)."""
    if fn is None:
        return lambda f: rule(f, **options)
    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(CACHE_DIR)  # read by numba when caching is enabled, i.e. now
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy", **options)(fn)
    finally:
        numba.config.CACHE_DIR = previous


_MARKER = "compiled"


def compile_once(warm_up) -> None:
    """Run ``warm_up()`` (which calls every compiled entry point once on tiny inputs). The first time
    for this source fingerprint it can take a while, so say so on stderr, time it, and leave a marker."""
    if DISABLED:
        return
    marker = CACHE_DIR / _MARKER
    if marker.exists():
        warm_up()
        return
    print("retention-sim: compiling the simulation kernel, first run only ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    warm_up()
    seconds = time.perf_counter() - start
    print(f"retention-sim: compiled in {seconds:.0f} s (cached in {CACHE_DIR})", file=sys.stderr, flush=True)
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{seconds:.1f}\n")
    except OSError:
        pass  # an unwritable cache only costs the compile time again next run
