"""The full pattern suite (issue 11): every pattern of :mod:`sim.patterns` at the full size (20,000
customers, 10 replications), which takes tens of minutes, so it is a benchmark, not a test (the tests
run a fast subset; ``retention-sim patterns --quick`` runs them all small).

It writes ``docs/validation.csv`` (the columns of ``patterns.csv`` plus the seconds each took and the
date), which the documentation renders as ``docs/validation.md`` beside each pattern's definition. The
last printed line is one JSON object: how many patterns hold.

    python benchmarks/patterns.py [--quick]
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    from sim import __version__, patterns

    quick = "--quick" in argv
    outcomes = patterns.run(quick=quick, progress=lambda o: print(f"{'holds' if o.holds else 'FAILS'}  {o.pattern.name} "
                                                                   f"({o.seconds:.0f} s)", flush=True))
    table = patterns.table(outcomes)
    table["seconds"] = [round(o.seconds, 1) for o in outcomes]
    table["size"] = "quick" if quick else "full"
    table["date"] = datetime.date.today().isoformat()
    table["version"] = __version__
    if not quick:
        table.to_csv(ROOT / "docs" / "validation.csv", index=False)
    print(json.dumps({"patterns": len(outcomes), "hold": int(sum(o.holds for o in outcomes)), "size": table["size"].iloc[0],
                      "seconds": round(float(table["seconds"].sum()), 1)}))


if __name__ == "__main__":
    main(sys.argv[1:])
