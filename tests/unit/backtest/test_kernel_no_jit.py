"""The simulator kernel gives the same result as plain Python (``NUMBA_DISABLE_JIT=1``).

The subprocess runs the kernel's own source uncompiled, which is also how a coverage job
measures the kernel bodies; its result must equal the compiled one bit for bit.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

from harvester.backtest._arrays import EngineParams, MarketArrays, SignalArrays, SimOutput
from harvester.backtest._kernels import simulate_kernel
from harvester.backtest.inputs import engine_params, market_arrays
from harvester.config.models import HarvesterConfig
from harvester.testing import SyntheticParams, generate_market

CONFIG = {
    "execution": {"slippage_model": "atr", "commission_min_usd": 1.0, "participation_cap": 0.01},
    "risk_management": {
        "base_position_fraction": 0.15,
        "max_position_notional_usd": 0,
        "max_open_positions": 5,
        "stop_loss_atr": 1.5,
        "take_profit_atr": 3.0,
        "time_stop_bars": 15,
        "scale_out": [{"r_multiple": 1.0, "fraction": 0.3}, {"r_multiple": 2.0, "fraction": 0.3}],
    },
    "risk_params": {
        "max_gross_exposure_pct": 90,
        "max_position_size": 0.25,
        "max_daily_loss_pct": 1.5,
        "kill_switch_flatten": True,
        "reentry_cooldown_bars": 2,
    },
}

SCRIPT = """
import pickle, sys
import numba
import numpy as np
from harvester.backtest import _kernels

assert numba.config.DISABLE_JIT
assert not hasattr(_kernels._simulate_nb, "signatures"), "the kernel was compiled"
with open(sys.argv[1], "rb") as handle:
    market, signals, params = pickle.load(handle)
np.savez(sys.argv[2], *_kernels.simulate_kernel(market, signals, params))
"""


def seeded_case() -> tuple[MarketArrays, SignalArrays, EngineParams]:
    panel = generate_market(SyntheticParams(symbols=8, years=1, seed=11)).panel
    config = HarvesterConfig.model_validate(CONFIG)
    rng = np.random.default_rng(3)
    shape = panel.shape
    direction = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=shape, p=[0.1, 0.8, 0.1])
    signals = SignalArrays(
        direction, rng.random(shape) < 0.03, rng.uniform(0.5, 1.5, shape), rng.random(shape)
    )
    return market_arrays(panel, config), signals, engine_params(config)


def test_kernel_without_jit_equals_compiled_kernel(tmp_path: Path) -> None:
    market, signals, params = seeded_case()
    compiled = simulate_kernel(market, signals, params)
    assert len(compiled.trades) > 20, "the case should exercise the exits"
    case_path, out_path = tmp_path / "case.pkl", tmp_path / "out.npz"
    with case_path.open("wb") as handle:
        pickle.dump((market, signals, params), handle)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run(
        [sys.executable, "-c", SCRIPT, str(case_path), str(out_path)],
        env=env,
        check=True,
        timeout=300,
    )
    with np.load(out_path) as saved:
        interpreted = SimOutput(*(saved[f"arr_{k}"] for k in range(len(SimOutput._fields))))
    for name, got, expected in zip(SimOutput._fields, interpreted, compiled, strict=True):
        np.testing.assert_array_equal(got, expected, err_msg=name, strict=True)
