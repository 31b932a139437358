"""Strategy optimisation: the best use of a retention budget, found on common random numbers and
confirmed on fresh seeds.

``retention-sim optimise OPT.toml --out DIR [--workers N] [--storage URL]``, or from Python::

    import sim
    result = sim.optimise("opt.toml", "results/opt", workers=2)   # the same as sim.optimise.optimise(...)
    result.best.params, result.verification, result.trials

The file format is :mod:`sim.optimise.spec`, the budget block :mod:`sim.optimise.budget`, the search
:mod:`sim.optimise.study` (Optuna: TPE by default, CMA-ES, NSGA-II for two objectives; a study in a
database, SQLite ``DIR/study.db`` unless ``--storage`` names another, resumed where it stopped with
every trial exactly once), the confirmation :mod:`sim.optimise.verify`, the outputs
:func:`sim.optimise.core.write_outputs` and :mod:`sim.optimise.report`:

* ``trials.parquet``: one row per trial (``trial``, ``state``, each parameter by its dotted key, each
  metric's mean over the search replications, ``feasible``);
* ``verification.csv``: ``strategy, metric, mean, ci_low, ci_high, n, difference_vs_base, diff_ci_low,
  diff_ci_high`` for the base and the confirmed candidates on fresh seeds;
* ``best.toml``: the recommended strategy as a scenario that extends the base (``run`` and ``compare``
  take it);
* ``report.html`` (self-contained) and ``manifest.json``.

This module is callable: ``sim.optimise(...)`` is :func:`optimise`, whether ``sim.optimise`` was
reached as the package's export or imported as this module.
"""

from __future__ import annotations

import sys
import types

from .spec import OptimiseError, load_spec


def optimise(spec, out, workers: int = 1, storage: str | None = None, force: bool = False, progress: bool = False):
    """Run (or resume) the study of an optimisation file (a path or a checked
    :class:`~sim.optimise.spec.OptimiseSpec`) into the folder ``out``; returns a
    :class:`~sim.optimise.core.StudyResult`. See :func:`sim.optimise.core.optimise`."""
    from .core import optimise as run

    return run(spec, out, workers=workers, storage=storage, force=force, progress=progress)


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return optimise(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["OptimiseError", "load_spec", "optimise"]
