"""The compiled kernel (sim.kernels) applies the same rules as the numpy mechanism functions: on the
same seed both engines give the same customers, decisions and books, up to float32 rounding."""

import numpy as np
import pytest

from sim import kernels
from sim.model import RetentionModel
from sim.population import COLUMNS

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")

EVERY_MEASURE = {
    "simulation": {"customers": 8000, "periods": 30},
    "segments": [{"name": "a", "share": 0.5, "lockin_growth": 5.0, "lockin_max": 100.0, "no_alternative_share": 0.05},
                 {"name": "b", "share": 0.5, "background_churn": {"distribution": "beta", "alpha": 1.0, "beta": 50.0}}],
    "firms": [{"name": "focal", "initial_share": 0.5, "acquisition_spend": 3000.0},
              {"name": "rival", "initial_share": 0.5, "acquisition_spend": 3000.0}],
    "measures": [
        {"type": "contract", "term": 6, "exit_fee": 60.0, "target": {"segment": "a"}},
        {"type": "discount", "rate": 0.15, "schedule": {"start": 3, "end": 12}},
        {"type": "service", "target": {"loyalty_class": "neither"}},
        {"type": "nostalgia", "cohort": "1980s", "schedule": {"start": 5, "every": 6, "duration": 2}},
        {"type": "price_change", "firm": "rival", "factor": 1.2, "schedule": {"start": 10}},
    ],
}


@pytest.mark.parametrize("scenario", ["telecom", "ecommerce", "b2b_software", "every_measure"])
def test_fused_kernel_matches_numpy_reference(scenario):
    spec = EVERY_MEASURE if scenario == "every_measure" else scenario
    extra = {} if scenario == "every_measure" else {"simulation.customers": 6000, "simulation.periods": 30}
    ref = RetentionModel(spec, rng=5, engine="numpy", **extra)
    fast = RetentionModel(spec, rng=5, engine="fused", **extra)
    ref.run()
    fast.run()
    assert ref.customers.n == fast.customers.n
    for name, dtype in COLUMNS.items():
        a, b = ref.customers.cols[name][: ref.customers.n], fast.customers.cols[name][: fast.customers.n]
        if np.issubdtype(dtype, np.floating):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(b, a, err_msg=name)
    pa = ref.datacollector.get_agent_vars_dataframe()
    pb = fast.datacollector.get_agent_vars_dataframe()
    np.testing.assert_allclose(pb.to_numpy(float), pa.to_numpy(float), rtol=1e-5, atol=1e-4)


def test_engine_choice():
    assert RetentionModel("telecom", rng=1, **{"simulation.customers": 10}).fused
    assert not RetentionModel("telecom", rng=1, engine="numpy", **{"simulation.customers": 10}).fused
    assert not RetentionModel("telecom", rng=1, trace=[0], **{"simulation.customers": 10}).fused  # histories need numpy
    with pytest.raises(ValueError):
        RetentionModel("telecom", engine="gpu")
