"""``harvester features`` writes a long feature frame for a universe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.cli.main import main
from harvester.data.bundled import load_sample


def test_features_frame_on_the_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "features.parquet"
    code = main(["features", "--data", "sample", "--set", "technical", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    frame = pd.read_parquet(out)
    panel = load_sample()
    assert len(frame) == int((~np.isnan(panel.array("close"))).sum())
    assert {"date", "symbol", "rsi_14", "atr_14", "macd_12_26_9", "bb_width_20_2"} <= set(frame)
    # The simple return column equals pandas' own percentage change per symbol.
    aapl = frame[frame["symbol"] == "AAPL"].set_index("date")["returns"]
    expected = panel.frame("close")["AAPL"].pct_change()
    np.testing.assert_allclose(aapl.to_numpy(), expected.to_numpy(), rtol=1e-12, equal_nan=True)


def test_unknown_feature_set_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["features", "--set", "magic", "--out", str(tmp_path / "x.parquet")])
    assert code == 2
    assert "unknown feature set 'magic'" in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()
