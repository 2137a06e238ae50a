"""The HMM kernels, diagonal and full, equal plain Python (``NUMBA_DISABLE_JIT=1``).

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
import pytest

from harvester.core.types import FloatArray
from harvester.regimes import _kernels
from harvester.regimes.hmm import CovarianceType, initial_params

SCRIPT = """
import sys
import numba
import numpy as np
from harvester.regimes import _kernels

assert numba.config.DISABLE_JIT
assert not hasattr(_kernels.fit_nb, "signatures"), "the kernel was compiled"
full = sys.argv[3] == "full"
fit_nb = _kernels.fit_full_nb if full else _kernels.fit_nb
filter_nb = _kernels.filter_full_nb if full else _kernels.filter_nb
score_nb = _kernels.log_likelihood_full_nb if full else _kernels.log_likelihood_nb
with np.load(sys.argv[1]) as case:
    x, params = case["x"], [case[f"p{k}"].copy() for k in range(4)]
fit = fit_nb(x, *params, 15, -np.inf, 1e-10)
probabilities, filtered_ll = filter_nb(x, *params)
score = score_nb(x, *params)
np.savez(sys.argv[2], *fit, *params, probabilities, filtered_ll, score)
"""


def seeded_case(covariance_type: CovarianceType) -> tuple[FloatArray, list[FloatArray]]:
    rng = np.random.default_rng(5)
    scale = np.repeat([0.01, 0.03, 0.07], 80)[None, :, None]
    x = rng.normal(0.0, 1.0, (3, 240, 2)) * scale
    x[1, 100:104, 0] = np.nan
    start = initial_params(x, seed=2, covariance_type=covariance_type)
    return x, [np.array(p) for p in start]


def compiled(
    x: FloatArray, params: list[FloatArray], covariance_type: CovarianceType
) -> list[np.ndarray[Any, Any]]:
    full = covariance_type == "full"
    fit_nb = _kernels.fit_full_nb if full else _kernels.fit_nb
    filter_nb = _kernels.filter_full_nb if full else _kernels.filter_nb
    score_nb = _kernels.log_likelihood_full_nb if full else _kernels.log_likelihood_nb
    startprob, transmat, means, variances = (p.copy() for p in params)
    fitted = (startprob, transmat, means, variances)
    fit = fit_nb(x, *fitted, 15, -np.inf, 1e-10)
    probabilities, filtered_ll = filter_nb(x, *fitted)
    score = score_nb(x, *fitted)
    return [*fit, *fitted, probabilities, filtered_ll, score]


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_hmm_kernels_without_jit_equal_compiled_kernels(
    tmp_path: Path, covariance_type: CovarianceType
) -> None:
    x, params = seeded_case(covariance_type)
    expected = compiled(x, params, covariance_type)
    case_path, out_path = tmp_path / "case.npz", tmp_path / "out.npz"
    np.savez(case_path, x=x, p0=params[0], p1=params[1], p2=params[2], p3=params[3])
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run(
        [sys.executable, "-c", SCRIPT, str(case_path), str(out_path), covariance_type],
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
