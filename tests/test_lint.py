"""The code base is linted with ruff under the rules in pyproject.toml ([tool.ruff]).

OWNED lists the files held to the rules so far (the experiment layer, its tests and the signal
module); the rest of the tree follows once it has been formatted, and then this test checks `.`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWNED = [
    "sim/signals.py",
    "sim/stats.py",
    "sim/sweep.py",
    "sim/sweep_worker.py",
    "sim/outputs.py",
    "sim/report.py",
    "sim/compare.py",
    "sim/calibrate.py",
    "sim/cli.py",
    "sim/optimise",
    "tests/test_lint.py",
    "tests/test_stats.py",
    "tests/test_sweep_rigour.py",
    "tests/test_reliability.py",
    "tests/test_report_stats.py",
    "tests/test_sweep.py",
    "tests/test_compare.py",
    "tests/test_cli.py",
    "tests/test_outputs.py",
    "tests/test_calibrate.py",
    "tests/test_report_browser.py",
    "tests/sweep_toys.py",
    "tests/test_optimise.py",
    "benchmarks/optimise.py",
]


def _ruff() -> list[str]:
    try:
        import ruff  # noqa: F401  (the test extra installs it)

        return [sys.executable, "-m", "ruff"]
    except ImportError:
        found = shutil.which("ruff")
        if found is None:
            pytest.skip("ruff is not installed (./bootstrap.sh test installs it)")
        return [found]


def test_ruff_is_configured():
    text = (ROOT / "pyproject.toml").read_text()
    assert "[tool.ruff]" in text and "[tool.ruff.lint]" in text


def test_ruff_check_passes():
    done = subprocess.run([*_ruff(), "check", "--no-cache", *OWNED], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
