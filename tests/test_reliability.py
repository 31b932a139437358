"""The reliability findings of issue 21, each as the test team found it: signals at any moment leave an
output folder absent or complete, a library failing after a SIGTERM is a stop (143), bad or hostile
input is one line with exit 2 and nothing written, memory limits give the promised out-of-memory line
naming what to lower, and no file the program did not write is ever removed."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim import outputs

SMALL = ["--customers", "400", "--periods", "12", "--no-plots", "--quiet"]


def _cli(args, cwd=None, timeout=300, **kw):
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout, **kw
    )


def _one_line(done, code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def _staging(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".retention-sim-*")] if folder.exists() else []


def _complete(folder: Path) -> bool:
    """A complete output: its marker lists every file, each present with the content recorded."""
    marker = outputs._read_marker(folder)
    if marker is None or not isinstance(marker.get("files"), list):
        return False
    return all(
        (folder / f).is_file()
        and (f not in marker.get("sha256", {}) or hashlib.sha256((folder / f).read_bytes()).hexdigest() == marker["sha256"][f])
        for f in marker["files"]
    )


# ------------------------------------------------------------------------------- signals
def test_signals_at_random_moments_leave_the_folder_absent_or_complete(tmp_path):
    """Ctrl-C or SIGTERM at a random moment of a run (simulation, writing, commit, after it) and of a
    --force replacement: afterwards the folder is absent (or, replaced, the previous complete output)
    or complete, and no staging folder is left anywhere."""
    rng = random.Random(21)
    done = _cli(["run", "telecom", *SMALL, "--out", "prev"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    before = (tmp_path / "prev" / "periods.csv").read_bytes()
    for trial in range(6):
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        force = trial % 2 == 1
        out = "prev" if force else f"o{trial}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "run", "telecom", *SMALL[:4], "--quiet", "--out", out]
            + (["--force", "--set", f"simulation.seed={trial + 1}"] if force else []),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # from the moment its handlers stand (the staging folder exists) to past its end: the simulation,
        # the writing and the commit (a signal before Python runs the command is the interpreter's)
        deadline = time.monotonic() + 120
        while not _staging(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 4.0))
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        assert proc.returncode in (0, 130, 143), (proc.returncode, err)
        folder = tmp_path / out
        assert not folder.exists() or _complete(folder), (trial, sorted(p.name for p in folder.iterdir()))
        assert _staging(tmp_path) == [], (trial, _staging(tmp_path))
        if force and proc.returncode != 0:
            assert (folder / "periods.csv").read_bytes() == before  # the previous output, untouched
        if force and proc.returncode == 0:
            before = (folder / "periods.csv").read_bytes()


def test_sigkill_leaves_the_target_as_it_was_and_the_next_run_cleans_up(tmp_path):
    """A SIGKILL cannot be handled: the staging folder sits beside the target (also for an empty
    target folder the user made), so the target is untouched, and the next run removes the leftover."""
    (tmp_path / "empty").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", "telecom", "--customers", "20000", "--quiet", "--out", "empty"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not _staging(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    proc.kill()
    proc.wait()
    assert list((tmp_path / "empty").iterdir()) == []  # the user's empty folder, as it was
    done = _cli(["run", "telecom", *SMALL, "--out", "empty"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _staging(tmp_path) == [] and _complete(tmp_path / "empty")


FAILING_PLOT = """
import os, signal, sys
import matplotlib.figure
real = matplotlib.figure.Figure.savefig
def savefig(self, *a, **k):
    # SIGTERM arrives while matplotlib draws; a library that catches it and fails on its own
    # ("Invalid bounding box", as the test team saw) must still be reported as the stop
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        real(self, *a, **k)
    except BaseException:
        raise ValueError("Invalid bounding box")
matplotlib.figure.Figure.savefig = savefig
from sim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_while_plotting_gives_143_and_keeps_the_previous_output(tmp_path):
    done = _cli(["run", "telecom", "--customers", "400", "--periods", "12", "--quiet", "--out", "o"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").rglob("*") if p.is_file()}
    stopped = subprocess.run(
        [
            sys.executable,
            "-c",
            FAILING_PLOT,
            "run",
            "telecom",
            "--customers",
            "400",
            "--periods",
            "12",
            "--quiet",
            "--force",
            "--seed",
            "5",
            "--out",
            "o",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    err = _one_line(stopped, 143)
    assert "stopped by SIGTERM" in err and "internal error" not in err
    assert {p.name: p.read_bytes() for p in (tmp_path / "o").rglob("*") if p.is_file()} == before
    assert _staging(tmp_path) == []


# ------------------------------------------------------------------------------- markers and --force
def test_force_never_removes_a_changed_or_foreign_file_of_a_run_output(tmp_path):
    done = _cli(["run", "telecom", *SMALL, "--out", "o"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    marker = json.loads((tmp_path / "o" / outputs.MARKER).read_text())
    assert set(marker["sha256"]) == set(marker["files"])  # every file's content recorded
    (tmp_path / "victim.txt").write_text("keep")
    marker["files"].append("../victim.txt")
    (tmp_path / "o" / outputs.MARKER).write_text(json.dumps(marker))
    (tmp_path / "o" / "summary.json").write_text("{}")  # edited by the user
    refused = _cli(["run", "telecom", *SMALL, "--out", "o", "--force"], cwd=tmp_path)
    assert "summary.json (changed since retention-sim wrote it)" in _one_line(refused, 2)
    (tmp_path / "o" / "summary.json").unlink()
    replaced = _cli(["run", "telecom", *SMALL, "--out", "o", "--force"], cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert (tmp_path / "victim.txt").read_text() == "keep"


# ------------------------------------------------------------------------------- bad input, exit 2
@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--seed", str(2**63)], "--seed: must be at most"),
        (["run", "--seed", "1e23"], "--seed: must be a whole number"),
        (["compare", "telecom", "telecom", "--replications", "1000000000"], "--replications: must be at most 10,000"),
        (["compare", "telecom", "telecom", "--precision", "nps=0.1"], "--precision: must be METRIC=HALF_WIDTH"),
        (["compare", "telecom", "telecom", "--precision", "retention_12=-1"], "the half-width must be a positive number"),
        (["run", "--set", "x=" + "[" * 2000 + "]" * 2000], "nested too deeply"),
    ],
)
def test_out_of_range_options_are_one_line_and_exit_2(tmp_path, args, message):
    done = _cli([*args, "--out", "o"], cwd=tmp_path)
    assert message in _one_line(done, 2)
    assert list(tmp_path.iterdir()) == []


def test_hostile_scenario_files_are_one_line_naming_file_and_key(tmp_path):
    (tmp_path / "deep.toml").write_text('name = "x"\nq = ' + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "long.toml").write_text('extends = "' + "a" * 100_000 + '"\n')
    (tmp_path / "deepset.toml").write_text('name = "x"\n[set]\n' + ".".join(["a"] * 3000) + " = 1\n")
    (tmp_path / "notype.toml").write_text('name = "x"\n[[measures]]\nterm = 12\n')
    (tmp_path / "add.toml").write_text('extends = "telecom"\n[[add.measures]]\ntype = "service"\nquality_boostx = 0.1\n')
    (tmp_path / "base.toml").write_text('name = "b"\n[simulation]\ncustomers = -5\n')
    (tmp_path / "variant.toml").write_text('extends = "base.toml"\nname = "v"\n[simulation]\nperiods = 12\n')
    for name, message in [
        ("deep.toml", "deep.toml: is nested too deeply"),
        ("long.toml", "long.toml: extends: is 100,000 characters long"),
        ("deepset.toml", "deepset.toml: is nested too deeply"),
        ("notype.toml", "measures[0].type: is required but not set (one of: price_change,"),
        ("add.toml", "add.toml: add.measures[0].quality_boostx: unknown key (did you mean add.measures[0].quality_boost?)"),
        ("variant.toml", "base.toml: simulation.customers: must be greater than or equal to 1"),
    ]:
        err = _one_line(_cli(["validate", name], cwd=tmp_path), 2)
        assert message in err and len(err) < 400, err


def test_calibrate_refuses_bad_observed_files_before_writing(tmp_path):
    cases = {
        "header.csv": ("period,active\n", "has a header but no rows"),
        "huge.csv": ("period,active\n0,1e30\n1,5\n", "line 2: active must be a whole number"),
        "huge2.csv": ("period,active\n0," + "9" * 30 + "\n1,5\n", "line 2: active must be at most 1,000,000,000,000"),
        "bool.csv": ("period,active\n0,True\n1,False\n", "line 2: active must be a whole number >= 0 (got 'True')"),
        "segment.csv": ("period,active,segment\n0,100,nobody\n1,90,nobody\n", "segment.csv: segment 'nobody' is not a segment"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        err = _one_line(
            _cli(["calibrate", "telecom", "--observed", name, "--fit", "firms.0.service_quality", "--out", "cal"], cwd=tmp_path),
            2,
        )
        assert message in err, err
        assert not (tmp_path / "cal").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_calibrate_does_not_wait_on_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    done = _cli(["calibrate", "telecom", "--observed", "pipe.csv", "--fit", "firms.0.service_quality"], cwd=tmp_path, timeout=60)
    assert "pipe.csv: is not a regular file" in _one_line(done, 2)


# ------------------------------------------------------------------------------- memory
def _address_space(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_tight_address_space_gives_the_out_of_memory_line_and_leaves_nothing(tmp_path):
    done = _cli(["run", "telecom", *SMALL, "--out", "o"], cwd=tmp_path, preexec_fn=_address_space(700_000_000))
    err = _one_line(done, 1)
    assert err.startswith("retention-sim: out of memory") and "ulimit -v" in err
    assert list(tmp_path.iterdir()) == []


def test_the_out_of_memory_line_names_the_acquisition_budget_when_arrivals_explode(tmp_path):
    (tmp_path / "flood.toml").write_text(
        'extends = "telecom"\nname = "flood"\n[set]\n"firms.0.acquisition_spend" = 1e12\n"firms.0.cost_per_acquisition" = 1.0\n'
    )
    err = _one_line(_cli(["run", "flood.toml", "--out", "o"], cwd=tmp_path), 1)
    assert "out of memory" in err and "firms.0.acquisition_spend" in err and "--customers" not in err
    assert list(tmp_path.iterdir()) == [tmp_path / "flood.toml"]


def test_every_manifest_carries_the_provenance(tmp_path):
    done = _cli(["run", "telecom", *SMALL, "--out", "o"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    for key in ("python", "numpy", "numba", "pandas", "git_commit", "git_dirty"):
        assert key in manifest, key
    in_git = (Path(__file__).resolve().parents[1] / ".git").exists()
    assert (manifest["git_commit"] is not None) == in_git
    assert manifest["python"] == ".".join(map(str, sys.version_info[:3]))


def test_provenance_never_fails_without_git(monkeypatch):
    outputs._git_state.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        info = outputs.provenance()
    finally:
        outputs._git_state.cache_clear()
    assert info["git_commit"] is None and info["python"]


def test_a_long_name_still_gives_a_usable_default_output_folder(tmp_path):
    from sim.cli import _default_out

    a, b = _default_out("n" * 300, 1), _default_out("n" * 299 + "m", 1)
    assert len(a.name) < 100 and a != b and a.parent == Path("results")
    (tmp_path / a).mkdir(parents=True)  # a name the file system takes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_a_forced_replacement_swaps_the_folders_in_one_step(tmp_path):
    """With --force the new output and the previous one are exchanged atomically, so no moment exists
    at which a kill leaves the target absent (and the previous output lost)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "new").write_text("new")
    (tmp_path / "b" / "old").write_text("old")
    assert outputs._exchange(tmp_path / "a", tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["new"] and [p.name for p in (tmp_path / "a").iterdir()] == ["old"]
