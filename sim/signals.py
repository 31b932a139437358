"""Signals: Ctrl-C and SIGTERM as exceptions that never cut a commit or the engine's period in half,
and child processes that die with the command however it ends.

This module sits below the engine (``sim.engine`` defers signals during a period with
:func:`deferred_signals`) and below the output rules (:mod:`sim.outputs` commits and cleans up in
:func:`_critical` sections); it imports nothing of the package.

* :func:`signal_handlers` turns SIGINT into ``KeyboardInterrupt`` and SIGTERM into :class:`Terminated`
  in the main thread, held back while a critical section runs, and for up to :data:`HOLD_AT_MOST`
  seconds while an import or the compiler runs.
* :func:`end_program` ends the program after its command without the interpreter's slow tear-down,
  so that a signal at the very end is as quiet as one during the command (exit 128 + its number).
* :func:`received` tells whether a signal has been turned into an exception during the current
  command, so that an error raised by a library cut short by it is reported as the stop it is.
* :func:`die_with_parent` makes a child process (a sweep's worker server and its workers) end when
  its parent ends, SIGKILL included: Linux's parent-death signal, and a thread that watches the
  command's process where the kernel offers a process file descriptor.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import NoReturn

__all__ = ["Terminated", "HOLD_AT_MOST", "signal_handlers", "deferred_signals", "received", "die_with_parent", "PARENT_ENV",
           "block_interrupts", "interrupts_blocked", "ignore_interrupts", "end_program"]


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives (under :func:`signal_handlers`)."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


# --- signals as exceptions ----------------------------------------------------------------------

_critical_depth = 0
_pending: int | None = None
_raised: int | None = None  # a signal already turned into an exception (it may have been swallowed)
_last_raised: int | None = None  # the same, kept after signal_handlers ends (for received())


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


_FRAGILE = ("/numba/", "/llvmlite/")


def _fragile(frame) -> bool:
    """Whether ``frame`` runs inside an import (Python's import machinery is on the stack) or inside
    the compiler (numba, llvmlite): code that an exception must not cut in half."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<frozen importlib") or any(part in name.replace(os.sep, "/") for part in _FRAGILE):
            return True
        frame = frame.f_back
    return False


_redelivery: threading.Timer | None = None  # a signal to be sent again, not yet sent
_held_since: float | None = None  # when the signal now held back first arrived
HOLD_AT_MOST = 3.0  # seconds: an import or a load of the engine's cached code takes about one


def _redeliver(signum: int) -> None:
    global _redelivery
    _redelivery = None
    os.kill(os.getpid(), signum)


def _send_again(signum: int) -> None:
    """Send ``signum`` to this process again shortly (once, however often this is called before)."""
    global _redelivery
    if _redelivery is None:
        _redelivery = threading.Timer(0.05, _redeliver, (signum,))
        _redelivery.daemon = True
        _redelivery.start()


_in_hook = False  # the hook for exceptions Python only reports is running


def _on_signal(signum, frame) -> None:
    global _pending, _redelivery, _raised, _held_since, _last_raised
    if _critical_depth:
        _pending = signum  # finish the commit or clean-up first, then stop
        return
    if _held_since is None:
        _held_since = time.monotonic()
    if _fragile(frame) and time.monotonic() - _held_since < HOLD_AT_MOST:
        # An exception in the middle of an import can leave a compiled extension half initialised
        # (later "ImportError: initialization failed" instead of a clean stop), or be swallowed by
        # the import machinery's own callbacks; in the middle of loading the engine's compiled code
        # it leaves the compiler's objects broken (errors at exit, once a crash). Both take about a
        # second: the signal is sent again shortly and takes effect once they are done. Not longer
        # than HOLD_AT_MOST: a first run's compilation (a minute) is interrupted as it is.
        _send_again(signum)
        return
    if _in_hook:  # an exception raised inside the hook for swallowed ones would be lost too
        _send_again(signum)
        return
    _held_since = None
    _raised = _last_raised = signum
    _raise_for(signum)


@contextlib.contextmanager
def _critical() -> Iterator[None]:
    """A section that a Ctrl-C or SIGTERM (under :func:`signal_handlers`) does not cut in half."""
    global _critical_depth, _pending, _last_raised
    _critical_depth += 1
    try:
        yield
    finally:
        _critical_depth -= 1
        if not _critical_depth and _pending is not None:
            signum, _pending = _pending, None
            _last_raised = signum
            _raise_for(signum)


def deferred_signals() -> contextlib.AbstractContextManager:
    """A section that a Ctrl-C or SIGTERM (under :func:`signal_handlers`) does not interrupt: the
    signal takes effect when it ends. The engine's period is one: a KeyboardInterrupt raised while
    the compiled code's dispatcher is handling its arguments leaves the interpreter in a broken
    state (an internal SystemError, or a crash). Only the main thread receives signals, so elsewhere
    (a dashboard's worker thread) this is a no-op."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()
    return _critical()


@contextlib.contextmanager
def signal_handlers() -> Iterator[None]:
    """Turn SIGINT into KeyboardInterrupt and SIGTERM into :class:`Terminated`, both deferred while a
    commit or clean-up runs; restore the previous handlers on exit. A no-op outside the main thread."""
    global _pending, _raised, _redelivery, _held_since, _last_raised
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _raised = _held_since = _last_raised = None
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def swallowed(unraisable) -> None:
        if _raised is not None and isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)):
            # Raised inside a callback whose exceptions Python or a library only reports ("Exception
            # ignored in ..."): a weakref callback, a finaliser run by the garbage collector, the
            # compiler's cache hook. The stop is not lost: the signal is sent again shortly and takes
            # effect where the main thread next runs Python code outside such a callback (after a
            # critical section, such as the engine's period, once it ends). Not reported.
            global _in_hook
            _in_hook = True
            try:
                _send_again(_raised)
            finally:
                _in_hook = False
            return
        previous_hook(unraisable)

    sys.unraisablehook = swallowed
    try:
        yield
    finally:
        if _redelivery is not None:
            _redelivery.cancel()
            _redelivery = None
        sys.unraisablehook = previous_hook
        for s, handler in previous.items():
            signal.signal(s, handler)
        _pending = _raised = _held_since = None


def _leave(signum, frame) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signum)


def end_program(code: int) -> NoReturn:
    """End a program whose command has returned ``code`` (its outputs committed or cleaned up): run
    the exit functions (``atexit``, as the interpreter would), flush the standard streams and leave,
    without the interpreter's tear-down of every module (a few tenths of a second with the compiler
    loaded), during which Python has already restored the signals' default actions, so that a Ctrl-C
    or SIGTERM then killed the process by the signal or printed a traceback. A signal until the
    end exits quietly with 128 + its number, as during the command. For a program's entry point only."""
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, _leave)
    atexit._run_exitfuncs()  # the interpreter's own call at exit (multiprocessing, logging, finalizers)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def received() -> int | None:
    """The signal (``signal.SIGINT`` or ``SIGTERM``) already turned into an exception under
    :func:`signal_handlers` in this command, or None. A library that an exception cut short may fail
    afterwards with an error of its own (matplotlib: "Invalid bounding box"); such an error is the
    signal's doing and is reported as the stop."""
    return _raised if _raised is not None else _last_raised


# --- child processes deaf to the terminal's Ctrl-C ------------------------------------------------


def block_interrupts(how: int = signal.SIG_BLOCK) -> None:
    """Block (or with ``signal.SIG_UNBLOCK`` unblock) SIGINT in this thread; a no-op where POSIX
    signal masks do not exist (there worker processes are spawned, without a group Ctrl-C)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(how, {signal.SIGINT})


@contextlib.contextmanager
def interrupts_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread while it starts worker processes: a new process inherits the
    blocked signal and so cannot be cut short by a Ctrl-C (which a terminal sends to the whole group)
    while Python starts and imports the package, a traceback from a process the user never asked
    for; it ignores SIGINT and then unblocks it (:func:`ignore_interrupts`). In this thread a Ctrl-C
    that arrives meanwhile is held back, not lost: it takes effect when the block ends.

    Starting a process starts multiprocessing's resource tracker first if it is not running, and
    that unblocks SIGINT in this thread (``resource_tracker.ensure_running``), so the tracker is
    started before the block (without it, a Ctrl-C while the optimiser's workers imported the package
    gave their tracebacks, 3 times in 30 Ctrl-Cs at random times)."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    block_interrupts()
    try:
        yield
    finally:
        block_interrupts(signal.SIG_UNBLOCK)


def ignore_interrupts() -> None:
    """In a worker process (or a server that forks them): a Ctrl-C is the command's to handle; it
    stops its workers itself, so a worker neither dies with a traceback nor stops half-way through a
    task. The handler is set first and the signal unblocked after, so that a Ctrl-C that arrived
    while the process started (with SIGINT blocked, :func:`interrupts_blocked`) is dropped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    block_interrupts(signal.SIG_UNBLOCK)


# --- child processes that die with their parent ---------------------------------------------------

PARENT_ENV = "RETENTION_SIM_COMMAND_PID"  # the process whose end ends a sweep's worker processes
_PR_SET_PDEATHSIG = 1


def _parent_death_signal(signum: int) -> bool:
    """Ask the kernel (Linux) to send ``signum`` to this process when its parent ends; False where
    that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def die_with_parent(expected_parent: int | None = None, watch: int | None = None) -> None:
    """End this process when its parent ends, however the parent ends (SIGKILL included).

    * The parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``): the kernel kills this
      process when the thread that started it ends. If ``expected_parent`` is given and this
      process's parent is already another (the parent died before the request), it ends at once.
    * With ``watch`` (a process id) and a kernel that offers process file descriptors
      (``os.pidfd_open``, Linux 5.3), a daemon thread also waits on that process and ends this one
      when it ends: the command itself, for a worker whose parent is the worker server. Not in a
      process that forks later (a thread there would make its forks unsafe).
    """
    _parent_death_signal(signal.SIGKILL)
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)
    if watch is None or not hasattr(os, "pidfd_open"):
        return
    try:
        fd = os.pidfd_open(watch)
    except OSError:  # already gone, or not allowed
        if not _alive(watch):
            os._exit(1)
        return

    def wait() -> None:
        import select

        select.select([fd], [], [])  # readable when the process has ended
        os._exit(1)

    threading.Thread(target=wait, name="retention-sim-watch-command", daemon=True).start()


def command_pid() -> int | None:
    """The command's process id as handed to child processes (see :data:`PARENT_ENV`), or None."""
    try:
        return int(os.environ[PARENT_ENV])
    except (KeyError, ValueError):
        return None
