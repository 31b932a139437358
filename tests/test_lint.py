"""The code base is linted with ruff under the rules in pyproject.toml ([tool.ruff]).

OWNED lists the files held to the rules so far (the experiment layer, its tests and the signal
module; the model, its schema, kernel, measures, mechanisms and patterns, the docs hooks, the benchmarks
and their tests; the dashboard, the classroom game and the plots, and their tests); the rest of the tree
follows once it has been formatted, and then this test checks `.`."""

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
    "sim/results.py",
    "sim/metrics.py",
    "sim/projection.py",
    "sim/optimise",
    "tests/test_lint.py",
    "tests/test_stats.py",
    "tests/test_sweep_rigour.py",
    "tests/test_reliability.py",
    "tests/test_report_stats.py",
    "tests/test_sweep.py",
    "tests/test_compare.py",
    "tests/test_cli.py",
    "tests/test_scenario_library.py",
    "tests/test_projection.py",
    "tests/test_outputs.py",
    "tests/test_calibrate.py",
    "tests/test_report_browser.py",
    "tests/sweep_toys.py",
    "tests/test_optimise.py",
    "benchmarks/optimise.py",
    # the model: engine, compiled kernel, schema, measures, mechanisms, patterns; the docs hooks, benchmarks and their tests
    "sim/__init__.py",
    "sim/_jit.py",
    "sim/_schema.py",
    "sim/books.py",
    "sim/codes.py",
    "sim/docs_gen.py",
    "sim/engine.py",
    "sim/kernel.py",
    "sim/measures",
    "sim/mechanisms",
    "sim/model.py",
    "sim/params.py",
    "sim/patterns",
    "sim/population.py",
    "sim/reference.py",
    "sim/relationships.py",
    "sim/rng.py",
    "sim/scenario.py",
    "mkdocs_hooks.py",
    "benchmarks",
    "tests/browser.py",
    "tests/conftest.py",
    "tests/measures",
    "tests/mechanisms",
    "tests/test_bad_input.py",
    "tests/test_benchmarks.py",
    "tests/test_books.py",
    "tests/test_closed_forms.py",
    "tests/test_docs.py",
    "tests/test_engine.py",
    "tests/test_metrics.py",
    "tests/test_model.py",
    "tests/test_patterns.py",
    "tests/test_plots.py",
    "tests/test_population.py",
    "tests/test_relationships.py",
    "tests/test_reference.py",
    "tests/test_reproducibility.py",
    "tests/test_rng.py",
    "tests/test_scenario.py",
    "tests/test_stylized_facts.py",
    "tests/test_variants.py",
    # the dashboard, the classroom game and the plots, and their tests
    "sim/dashboard",
    "sim/game.py",
    "sim/plots.py",
    "tests/test_dashboard.py",
    "tests/test_dashboard_library.py",
    "tests/test_dashboard_security.py",
    "tests/test_notebooks.py",
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
