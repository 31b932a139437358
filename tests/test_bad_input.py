"""Every bad input, run through the real command in a subprocess: exit 2, exactly one line on stderr
naming the file or the key (or the option), no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "sim.cli"]

FILES = {
    "binary.toml": bytes(range(256)) * 2,
    "latin1.toml": 'name = "caf\xe9"\n'.encode("latin-1"),
    "empty.toml": b"",
    "comments.toml": b"# only a comment\n",
    "booltype.toml": b"[simulation]\ncustomers = true\n",
    "boolfloat.toml": b'[[firms]]\nname = "a"\nprice = false\n',
    "nanprice.toml": b'[[firms]]\nname = "a"\nprice = nan\n',
    "infprice.toml": b'[[firms]]\nname = "a"\nprice = inf\n',
    "segshares.toml": b'[[segments]]\nname = "a"\nshare = 0.3\n[[segments]]\nname = "b"\nshare = 0.3\n',
    "cohortshares.toml": b'[[segments]]\ncohorts = { "1980s" = 0.5, "1990s" = 0.3 }\n',
    "firmshares.toml": b'[[firms]]\nname = "a"\n[[firms]]\nname = "b"\n',
    "late.toml": b'[simulation]\nperiods = 12\n[[measures]]\ntype = "discount"\nschedule = { start = 12 }\n',
    "unknown.toml": b"[simulation]\ncustmers = 10\n",
    "wrongtype.toml": b'[simulation]\nperiods = "ten"\n',
    "floatcount.toml": b"[simulation]\nperiods = 12.5\n",
    "syntax.toml": b"[simulation\n",
    "table7.toml": b"simulation = 7\n",
    "answerfirm.toml": b'answer = "Kept {firms.focl.retention.12_months:.0%}."\n',
    "answerformat.toml": b'answer = "Kept {firms.focal.retention.12_months:.0q}."\n',
    "twice.toml": b'[set]\nmeasures.0.price = 3\n\n[set.measures]\n',
    "cfkey.toml": b'extends = "monopoly_entry"\n[counterfactual]\nlever = "entry"\nset = { "firms.1.enters_att" = 100000 }\n',
    "cfrange.toml": b'extends = "monopoly_entry"\n[counterfactual]\nlever = "entry"\nset = { firms.1.price = -1 }\n',
}

# (command line, exit code, what the one line must contain)
CASES = {
    "binary file": ("run binary.toml", ["binary.toml", "binary"]),
    "not UTF-8": ("run latin1.toml", ["latin1.toml", "UTF-8"]),
    "empty file": ("run empty.toml", ["empty.toml", "minimal scenario"]),
    "only comments": ("run comments.toml", ["comments.toml", "no settings"]),
    "a directory": ("run adir", ["adir", "folder"]),
    "missing file": ("run nope.toml", ["nope.toml", "no such file"]),
    "customers = true": ("run booltype.toml", ["booltype.toml", "simulation.customers", "not true or false"]),
    "price = false": ("run boolfloat.toml", ["firms[0].price", "must be a number"]),
    "price = nan": ("run nanprice.toml", ["nanprice.toml", "firms[0].price", "must be a finite number (got nan)"]),
    "price = inf": ("run infprice.toml", ["firms[0].price", "must be a finite number (got inf)"]),
    "segment shares": ("run segshares.toml", ["segshares.toml", "segments", "must sum to 1"]),
    "cohort shares": ("run cohortshares.toml", ["segments[0].cohorts", "must sum to 1"]),
    "firm shares": ("run firmshares.toml", ["firms", "initial_share", "must sum to 1"]),
    "measure after the horizon": ("run late.toml", ["late.toml", "measures[0].schedule.start", "never act"]),
    "unknown key": ("run unknown.toml", ["simulation.custmers", "unknown key", "simulation.customers?"]),
    "wrong type": ("run wrongtype.toml", ["simulation.periods", "whole number"]),
    "float for a count": ("run floatcount.toml", ["simulation.periods", "whole number"]),
    "broken TOML": ("run syntax.toml", ["syntax.toml", "not valid TOML", "[simulation"]),
    "a table declared twice": ("run twice.toml", ["twice.toml", "set.measures is declared twice", "line 2 (measures.0.price = 3)",
                                                  "line 4 ([set.measures])"]),
    "table replaced by a value": ("run table7.toml", ["simulation", "must be a table"]),
    "answer names no firm": ("run answerfirm.toml", ["answerfirm.toml", "answer", "names no firm", "focal, rival"]),
    "answer format": ("run answerformat.toml", ["answerformat.toml", "answer", "invalid number format"]),
    # a counterfactual is checked when the scenario is loaded, not after its replications have run,
    # and named with the other problems of a scenario that is invalid already
    "counterfactual: unknown key": ("run cfkey.toml", ["cfkey.toml", "counterfactual.set.firms.1.enters_att", "unknown key"]),
    "counterfactual: bad value": ("run cfrange.toml", ["cfrange.toml", "counterfactual.set.firms.1.price", "greater than 0"]),
    "counterfactual and --periods": ("run cfkey.toml --periods 12", ["schedule.start", "counterfactual.set.firms.1.enters_att"]),
    "--customers 0": ("run telecom --customers 0", ["--customers", "positive"]),
    "--customers -5": ("run telecom --customers -5", ["--customers", "positive"]),
    "--seed abc": ("run telecom --seed abc", ["--seed", "'abc'"]),
    "--periods x": ("run telecom --periods x", ["--periods", "'x'"]),
    "--set typo": ("run telecom --set simulation.customrs=5", ["--set simulation.customrs: unknown key"]),
    "--set bad value": ("run telecom --set firms.0.price=nan", ["--set firms.0.price: must be a finite number"]),
    "--set bool for a number": ("run telecom --set simulation.customers=true", ["--set simulation.customers:"]),
    "--set missing entry": ("run telecom --set firms.7.price=3", ["--set firms.7.price:", "no entry 7"]),
    "--set without =": ("run telecom --set price", ["--set", "KEY=VALUE"]),
    "--set breaks the file": ("run telecom --set firms.1.name=x", ["telecom.toml with --set firms.1.name", "measures[2].firm"]),
    "--periods cuts a measure": ("run b2b_software --periods 12", ["b2b_software.toml with --periods", "schedule.start"]),
    "validate binary": ("validate binary.toml", ["binary.toml", "binary"]),
    "validate --set typo": ("validate telecom --set simulation.customrs=5", ["--set simulation.customrs: unknown key"]),
    "unknown command": ("rn telecom", ["unknown command 'rn'"]),
    "no command": ("", ["give a command"]),
    "unknown option": ("run telecom --bogus", ["unrecognized arguments: --bogus"]),
}


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    w = tmp_path_factory.mktemp("bad")
    for name, data in FILES.items():
        (w / name).write_bytes(data)
    (w / "adir").mkdir()
    (w / "adir" / "inside.toml").write_text('name = "x"\n')
    return w


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, workdir):
    args, needles = CASES[case]
    before = _snapshot(workdir)
    extra = ["--out", "out"] if args.startswith("run") else []
    done = subprocess.run(CLI + args.split() + extra, cwd=workdir, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "RETENTION_SIM_DEBUG": ""})
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert done.stdout == ""
    assert _snapshot(workdir) == before  # nothing written, nothing touched


def test_help_still_works():
    done = subprocess.run(CLI + ["run", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--set KEY=VALUE" in done.stdout
    assert "simulation.seed" in " ".join(done.stdout.split())  # reproducible by default, and it says so
