"""Helpers of the browser tests: ``retention-sim dashboard`` on a free port, driven by Playwright in
Debian's chromium (``./bootstrap.sh test`` installs both; without them the tests skip, saying why)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    import playwright.sync_api  # noqa: F401

    PLAYWRIGHT = True
except ImportError:
    PLAYWRIGHT = False
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]

browser_test = pytest.mark.skipif(
    not (CHROMIUM and PLAYWRIGHT),
    reason="browser tests need chromium and playwright: ./bootstrap.sh test installs both (as root: apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dashboard(folder: Path, *args: str, env: dict | None = None, timeout: float = 120):
    """``retention-sim dashboard ARGS`` started in ``folder`` on a free port; yields (url, process).
    Its output goes to ``folder/server.log``; it is stopped (its whole process group) on exit."""
    port = free_port()
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "dashboard", *args, "--port", str(port)], cwd=folder,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"the dashboard did not serve {url}: {(folder / 'server.log').read_text()[-800:]}")
            time.sleep(0.5)
        yield url, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def launch(p):
    """Debian's chromium, headless, through Playwright's ``sync_playwright()`` object ``p``."""
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def watch_errors(pg) -> list[str]:
    """Collect the page's console errors and uncaught exceptions in ``pg.errors``."""
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    return pg.errors
