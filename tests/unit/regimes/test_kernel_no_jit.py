"""The HMM kernels give the same result as plain Python (``NUMBA_DISABLE_JIT=1``).

The subprocess runs the kernels' own source uncompiled (how a coverage job measures their
bodies) on a fixed seeded case with missing rows; fit, filter and log-likelihood must match
the compiled ones. The tolerance is a few ulps: NumPy's exp/log and LLVM's may round the
last bit differently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from harvester.core.types import FloatArray
from harvester.regimes import _kernels
from harvester.regimes.hmm import initial_params

SCRIPT = """
import sys
import numba
import numpy as np
from harvester.regimes import _kernels

assert numba.config.DISABLE_JIT
assert not hasattr(_kernels.fit_nb, "signatures"), "the kernel was compiled"
with np.load(sys.argv[1]) as case:
    x, params = case["x"], [case[f"p{k}"].copy() for k in range(4)]
fit = _kernels.fit_nb(x, *params, 15, -np.inf, 1e-10)
probabilities, filtered_ll = _kernels.filter_nb(x, *params)
score = _kernels.log_likelihood_nb(x, *params)
np.savez(sys.argv[2], *fit, *params, probabilities, filtered_ll, score)
"""


def seeded_case() -> tuple[FloatArray, list[FloatArray]]:
    rng = np.random.default_rng(5)
    scale = np.repeat([0.01, 0.03, 0.07], 80)[None, :, None]
    x = rng.normal(0.0, 1.0, (3, 240, 2)) * scale
    x[1, 100:104, 0] = np.nan
    return x, [np.array(p) for p in initial_params(x, seed=2)]


def compiled(x: FloatArray, params: list[FloatArray]) -> list[np.ndarray[Any, Any]]:
    startprob, transmat, means, variances = (p.copy() for p in params)
    fitted = (startprob, transmat, means, variances)
    fit = _kernels.fit_nb(x, *fitted, 15, -np.inf, 1e-10)
    probabilities, filtered_ll = _kernels.filter_nb(x, *fitted)
    score = _kernels.log_likelihood_nb(x, *fitted)
    return [*fit, *fitted, probabilities, filtered_ll, score]


def test_hmm_kernels_without_jit_equal_compiled_kernels(tmp_path: Path) -> None:
    x, params = seeded_case()
    expected = compiled(x, params)
    case_path, out_path = tmp_path / "case.npz", tmp_path / "out.npz"
    np.savez(case_path, x=x, p0=params[0], p1=params[1], p2=params[2], p3=params[3])
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run(
        [sys.executable, "-c", SCRIPT, str(case_path), str(out_path)],
        env=env,
        check=True,
        timeout=300,
    )
    with np.load(out_path) as saved:
        interpreted = [saved[f"arr_{k}"] for k in range(len(expected))]
    assert expected[1].tolist() == [15, 15, 15]
    for k, (got, want) in enumerate(zip(interpreted, expected, strict=True)):
        assert got.dtype == want.dtype and got.shape == want.shape, k
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14, err_msg=f"output {k}")
