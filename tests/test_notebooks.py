"""The lesson notebooks: each executes top to bottom and its own asserts hold (so teaching material
cannot rot), and each follows the lesson format: it opens with what it covers and the question it
answers, ends with the solutions to its exercises, imports only the package's public modules, and is
committed without outputs."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0?_*.ipynb"))
# the modules a user is meant to import (docs/experiments.md documents compare, report and sweep)
PUBLIC_MODULES = {"sim", "sim.plots", "sim.books", "sim.params", "sim.codes", "sim.compare", "sim.report", "sim.sweep",
                  "sim.calibrate", "sim.optimise"}


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _code(cell) -> str:
    """A code cell's source as Python: IPython magics and shell lines are blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


def _headings(nb) -> list[tuple[int, str]]:
    """(level, text) of every markdown heading, in order."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += [(len(m.group(1)), m.group(2).strip()) for m in re.finditer(r"^(#{1,6})\s+(.*)$", cell.source, re.M)]
    return out


def test_the_lessons_are_numbered_from_01_without_gaps():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers[:6] == [1, 2, 3, 4, 5, 6], [p.name for p in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), "two lessons share a number, or one is missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_covers_and_question_and_ends_with_solutions(path):
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "the first cell is the lesson's title"
    assert "Covers" in first.source and "Question" in first.source, "the first cell states what it covers and its question"
    sections = [text for level, text in _headings(nb) if level <= 2]
    assert sections[-1] == "Solutions", f"the last section is {sections[-1]!r}, not 'Solutions'"
    assert "Exercises" in sections, "no 'Exercises' section"
    after = nb.cells[
        [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and re.search(r"^##\s+Solutions\s*$", c.source, re.M)][0]:
    ]
    assert any(c.cell_type == "code" for c in after), "the solutions have no code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_the_public_api(path):
    nb = _read(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = _code(cell)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "", a.name) for a in node.names]
            else:
                continue
            for module, name in names:
                if module.split(".")[0] != "sim":
                    continue
                assert module in PUBLIC_MODULES, (
                    f"imports {module}, which is not one of the public modules {sorted(PUBLIC_MODULES)}"
                )
                assert name is None or not name.startswith("_") or name == "__version__", (
                    f"imports the private name {module}.{name}"
                )
                if module == "sim" and name and importlib.util.find_spec(f"sim.{name}") is not None:
                    assert f"sim.{name}" in PUBLIC_MODULES, f"imports the module sim.{name}, which is not public"
        private = re.findall(r"\bsim(?:\.\w+)*\._\w+", source)
        assert not private, f"uses private names: {private}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    """No outputs (the tests execute the notebooks) and no paths outside the repository."""
    nb = _read(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit notebooks without outputs"
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"(/work/|/home/|/tmp/|\.\./\.\./|shared/seeds)", text), "cites a path outside the repository"
    for link in re.findall(r"\]\(([^)#\s]+)", text):
        if not re.match(r"[a-z]+:", link):
            assert (path.parent / link).resolve().is_file(), f"broken link {link}"


def _execute(nb, folder: Path) -> None:
    """Run every cell in a fresh kernel with the working directory ``folder``; raises
    ``CellExecutionError`` at the first cell that fails (a failing ``assert`` included)."""
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()


def _images(nb) -> int:
    """How many figures (PNG or SVG outputs) an executed notebook shows."""
    return sum(1 for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
               if {"image/png", "image/svg+xml"} & set(o.get("data", {})))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_its_checks_hold_and_it_shows_its_figures(path, tmp_path, monkeypatch):
    # the kernel's own backend, as a reader's Jupyter and the built site have: a lesson whose figures
    # vanish (say, because an imported module switched the backend) fails here, although its asserts hold
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = _read(path)
    _execute(nb, tmp_path)
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert _images(nb) >= 1, f"{path.name} shows no figure when executed"


def test_a_notebook_whose_figure_is_lost_fails_the_figure_check(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)
    cells = ["%matplotlib inline\nimport matplotlib\nimport matplotlib.pyplot as plt",
             "matplotlib.use('Agg')  # what sim.report once did on import\nfig, ax = plt.subplots(); ax.plot([0, 1]); plt.show()"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    _execute(nb, tmp_path)
    assert _images(nb) == 0
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(cells[0]), nbformat.v4.new_code_cell("plt.plot([0, 1]); plt.show()")]
    )
    _execute(nb, tmp_path)
    assert _images(nb) == 1


def test_importing_the_package_leaves_the_matplotlib_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import sim, sim.report, sim.sweep, sim.plots, sim.compare, sim.optimise; "
            "import sim.optimise.report; print(matplotlib.get_backend())")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "MPLBACKEND": ""}
    )
    assert out.stdout.strip().lower() == "svg"


def test_report_files_are_written_without_touching_pyplot(tmp_path):
    """The package writes its figures with their own canvas: pyplot's figure list stays as it was."""
    import matplotlib.pyplot as plt

    import sim
    from sim import plots

    before = plt.get_fignums()
    res = sim.run("telecom", seed=1, overrides={"simulation.customers": 300, "simulation.periods": 6})
    files = plots.save_all(res, tmp_path)
    assert all(p.stat().st_size > 1000 for p in files.values())
    assert plt.get_fignums() == before


def test_a_failing_check_in_a_notebook_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("assert x == 2, 'taught fact'")]
    )
    with pytest.raises(CellExecutionError, match="taught fact"):
        _execute(nb, tmp_path)
