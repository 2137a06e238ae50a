"""Rally from saved models: the retrain's folds predict their own test windows again on a
later history (moved by the bars it gained), the newest fold carries on after the models'
last bar, and a scan with models never refits."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from harvester.config.models import HarvesterConfig
from harvester.core.errors import DataError
from harvester.data.panel import Panel
from harvester.strategies._rally_model import save_model
from harvester.strategies.rally import RallyFit, fit_walk_forward
from harvester.strategies.rally_saved import (
    SavedModel,
    history_metadata,
    load_saved,
    own_history,
    saved_fit,
    with_saved_models,
)
from harvester.testing import SyntheticParams, generate_market

SYMBOL_ROWS = 3 * 252  # the retrain sees the first three years of four


def _config() -> HarvesterConfig:
    values = {"train_years": 1.0, "test_years": 0.5, "hmm_n_iter": 10}
    return HarvesterConfig.model_validate({"strategies": {"rally": values}})


@cache
def _market() -> Panel:
    return generate_market(SyntheticParams(symbols=2, years=4, seed=3)).panel


def _trained(tmp_path: Path) -> tuple[dict[str, SavedModel], dict[str, RallyFit]]:
    """Retrain as the orchestrator does: each symbol alone, on the first three years."""
    early = _market().slice(None, _market().index[SYMBOL_ROWS - 1])
    models, fits = {}, {}
    for symbol in early.symbols:
        history = own_history(early, symbol)
        fit = fit_walk_forward(history, _config())
        path = tmp_path / f"{symbol}.joblib"
        save_model(path, fit.folds, history_metadata(history), report=fit.report)
        models[symbol], fits[symbol] = load_saved(path), fit
    return models, fits


def test_saved_models_repeat_their_test_windows_and_carry_on_after(tmp_path: Path) -> None:
    models, fits = _trained(tmp_path)
    full = _market()
    got = saved_fit(full, models)
    for j, symbol in enumerate(full.symbols):
        fit = fits[symbol]
        seen = np.isfinite(fit.probability[:, 0])
        assert seen.sum() > 100
        # The retrain's own out-of-sample windows come back bit for bit on the longer history.
        np.testing.assert_array_equal(got.probability[:SYMBOL_ROWS, j], fit.probability[:, 0])
        np.testing.assert_array_equal(got.raw_score[:SYMBOL_ROWS, j], fit.raw_score[:, 0])
        # After the last window: the newest fold, on bars no model was trained on.
        last_window_end = fit.folds[-1].fold.test_end
        after = got.probability[last_window_end:, j]
        assert np.isfinite(after).all() and len(after) == full.shape[0] - last_window_end
        assert set(got.fold_index[last_window_end:, j]) == {fit.folds[-1].fold.index}


def test_a_history_starting_later_moves_the_windows(tmp_path: Path) -> None:
    models, _ = _trained(tmp_path)
    full = _market()
    late = full.slice(full.index[100], None)  # the data source dropped the first 100 bars
    # Equal up to rounding: the features' averages and the HMM filter start 100 bars later,
    # and what that start changes has died away long before the first test window.
    np.testing.assert_allclose(
        saved_fit(late, models).probability, saved_fit(full, models).probability[100:],
        rtol=0, atol=1e-9,
    )  # fmt: skip


def test_appending_bars_never_changes_earlier_probabilities(tmp_path: Path) -> None:
    models, _ = _trained(tmp_path)
    full = _market()
    shorter = full.slice(None, full.index[-60])
    np.testing.assert_array_equal(
        saved_fit(shorter, models).probability, saved_fit(full, models).probability[:-59]
    )


def test_unusable_models_are_clear_errors(tmp_path: Path) -> None:
    models, fits = _trained(tmp_path)
    symbol = _market().symbols[0]
    old = tmp_path / "old.joblib"
    save_model(old, fits[symbol].folds, {"symbol": symbol})  # before history dates were kept
    with pytest.raises(DataError, match="no history dates; run harvester run retrain --force"):
        load_saved(old)
    too_short = _market().slice(None, _market().index[SYMBOL_ROWS - 10])
    with pytest.raises(DataError, match=r"lacks .*the last bar its model was trained to"):
        saved_fit(too_short, models)


def test_the_strategy_predicts_with_the_models_and_never_refits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harvester.strategies import rally

    models, _ = _trained(tmp_path)
    expected = saved_fit(_market(), models).probability

    def refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the saved-model strategy refitted")

    monkeypatch.setattr(rally, "fit_walk_forward", refit)
    output = with_saved_models(models).generate(_market(), _config())
    np.testing.assert_array_equal(output.details["p_rally"], expected)
    assert output.signals.direction.shape == _market().shape
