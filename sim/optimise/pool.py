"""Local worker processes for a study: each single-threaded, one task at a time, dead with their parent.

With one worker the tasks run in this process. With N >= 2, N processes are started (``spawn``:
a fresh interpreter, no copy of the parent's threads or database connections) with SIGINT blocked, so
a Ctrl-C that the terminal sends to the whole group while they start cannot give a traceback; they
ignore it once running and the command stops them itself (:meth:`Pool.close`). A worker dies with its
parent however the parent ends: the kernel's parent-death signal (Linux) and the closed pipe. They talk
over one pipe each (no queues, no semaphores; multiprocessing still starts its resource tracker,
which ends with the command).
"""

from __future__ import annotations

import contextlib
import os
from collections import deque

from ..signals import deferred_signals, interrupts_blocked
from ._worker import evaluate


class WorkerDied(RuntimeError):
    """A worker process ended without being asked to (killed, out of memory)."""


class Pool:
    """Tasks in, results out: :meth:`submit` queues a task under a key, :meth:`next` returns the next
    finished ``(key, result, error)`` (``error`` is one line or None). ``workers`` processes (none when
    ``workers`` is 1: :meth:`next` then runs the oldest task here)."""

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self.todo: deque = deque()
        self.busy: dict = {}  # connection -> key
        self.idle: list = []
        self.procs: list = []
        self.conns: list = []
        self.seconds = 0.0  # simulation time of the finished tasks, summed over workers
        self.runs = 0  # replications run by the finished tasks
        if self.workers > 1:
            self._start()

    def _start(self) -> None:
        import multiprocessing

        from . import _worker

        ctx = multiprocessing.get_context("spawn")
        try:
            # A Ctrl-C takes effect once every worker has started: cut short in the middle of handing a
            # new process its start-up data, it left that process to die with a traceback ("Ran out of
            # input"). Blocking SIGINT alone does not ensure it: another thread may receive it.
            with deferred_signals(), interrupts_blocked():
                for _ in range(self.workers):
                    mine, theirs = ctx.Pipe(duplex=True)
                    proc = ctx.Process(target=_worker.serve, args=(theirs, os.getpid()), daemon=True,
                                       name="retention-sim-worker")
                    proc.start()
                    theirs.close()
                    self.procs.append(proc)
                    self.conns.append(mine)
        except BaseException:
            self.close()  # the caller never gets this pool to close
            raise
        self.starting = set(self.conns)

    def submit(self, key, task: dict) -> None:
        """Queue a task; it starts as soon as a worker is free."""
        self.todo.append((key, task))
        self._hand_out()

    def _hand_out(self) -> None:
        while self.idle and self.todo:
            conn = self.idle.pop()
            key, task = self.todo.popleft()
            conn.send((key, task))
            self.busy[conn] = key

    @property
    def pending(self) -> int:
        """Tasks queued or running."""
        return len(self.todo) + len(self.busy)

    def next(self) -> tuple:
        """The next finished task as ``(key, result, error)``; blocks until one finishes."""
        if self.workers == 1:
            key, task = self.todo.popleft()
            try:
                result = evaluate(task)
            except Exception as err:  # noqa: BLE001  (a failed trial, reported as such)
                return key, None, f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
            self.seconds += result["seconds"]
            self.runs += len(result["metrics"])
            return key, result, None
        from multiprocessing.connection import wait

        if not self.pending:
            raise RuntimeError("no task is queued or running")
        while True:
            for conn in wait(list(self.busy) + list(self.starting)):
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    raise WorkerDied("a worker process ended unexpectedly (killed, or out of memory?)") from None
                if message[0] == "ready":
                    self.starting.discard(conn)
                    self.idle.append(conn)
                    self._hand_out()
                    continue
                status, key, payload = message
                del self.busy[conn]
                self.idle.append(conn)
                self._hand_out()
                if status == "ok":
                    self.seconds += payload["seconds"]
                    self.runs += len(payload["metrics"])
                    return key, payload, None
                return key, None, payload

    def close(self) -> None:
        """Stop the workers now (their current tasks are not needed: a resumed study reruns them)."""
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.close()
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
        self.procs, self.conns = [], []

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
