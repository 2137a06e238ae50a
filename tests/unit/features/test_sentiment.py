"""Sentiment scorers and the causal daily aggregation, on hand-made texts and timestamps."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import ConfigError, DataError
from harvester.features.sentiment import (
    FakeScorer,
    FinBertScorer,
    VaderScorer,
    daily_sentiment,
    session_dates,
)

NEW_YORK = "America/New_York"


def _stamps(*local: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(local), format="ISO8601").tz_localize(NEW_YORK))


# VADER: signs checked against the real library (compound values noted for the reader).


@pytest.fixture(scope="module")
def vader() -> VaderScorer:
    return VaderScorer()


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("Shares surge after record profit", 0.5, 0.8),  # 0.62
        ("Apple reports strong growth and beats estimates", 0.5, 0.9),  # 0.71
        ("Stock plunges as CEO resigns amid fraud probe", -0.9, -0.5),  # -0.73
        ("The company will hold its annual meeting on Tuesday", 0.0, 0.0),
        # A known blind spot: no word of this headline is in VADER's lexicon.
        ("Company files for bankruptcy", 0.0, 0.0),
    ],
)
def test_vader_gives_the_expected_sign(
    vader: VaderScorer, text: str, low: float, high: float
) -> None:
    (score,) = vader.score([text])
    assert low <= score <= high


def test_empty_text_scores_nan_and_keeps_positions(vader: VaderScorer) -> None:
    scores = vader.score([None, "Shares surge after record profit", "", "   "])
    assert np.isnan(scores[[0, 2, 3]]).all()
    assert scores[1] > 0


def test_no_texts_give_an_empty_array(vader: VaderScorer) -> None:
    assert vader.score([]).shape == (0,)


def test_a_scorer_returning_out_of_range_values_is_rejected() -> None:
    with pytest.raises(DataError, match=r"outside \[-1, 1\]"):
        FakeScorer({"a": 2.0}).score(["a"])


# FinBERT: only the error paths (no model on this machine).


def test_finbert_without_transformers_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # Makes the import fail.
    with pytest.raises(ConfigError, match="pip install transformers torch"):
        FinBertScorer("/nonexistent/finbert")


def test_finbert_without_a_model_directory_says_what_is_expected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_module = type(sys)("fake")
    monkeypatch.setitem(sys.modules, "transformers", fake_module)
    monkeypatch.setitem(sys.modules, "torch", fake_module)
    with pytest.raises(ConfigError, match="is not a directory"):
        FinBertScorer(None)


# Session dates: the cutoff and the roll to the next session.


def test_items_at_or_after_the_close_count_for_the_next_session() -> None:
    stamps = _stamps(
        "2024-03-04 09:00",  # Monday, before the close
        "2024-03-04 15:59:59",
        "2024-03-04 16:00",  # At the close: next session
        "2024-03-08 17:00",  # Friday evening: Monday
        "2024-03-09 10:00",  # Saturday: Monday
    )
    expected = pd.to_datetime(
        ["2024-03-04", "2024-03-04", "2024-03-05", "2024-03-11", "2024-03-11"]
    )
    np.testing.assert_array_equal(session_dates(stamps).to_numpy(), expected.to_numpy())


def test_the_cutoff_is_wall_clock_in_the_given_timezone() -> None:
    # 20:30 UTC is 16:30 in New York in summer (EDT) but 15:30 in winter (EST).
    utc = pd.Series(pd.to_datetime(["2024-07-01 20:30", "2024-01-02 20:30"]).tz_localize("UTC"))
    expected = pd.to_datetime(["2024-07-02", "2024-01-02"])
    np.testing.assert_array_equal(session_dates(utc).to_numpy(), expected.to_numpy())


def test_given_sessions_skip_holidays_and_drop_items_after_the_last() -> None:
    sessions = pd.DatetimeIndex(["2024-07-03", "2024-07-05"])  # July 4th is a holiday.
    stamps = _stamps("2024-07-03 18:00", "2024-07-05 17:00")
    dates = session_dates(stamps, sessions=sessions)
    assert dates.iloc[0] == pd.Timestamp("2024-07-05")
    assert pd.isna(dates.iloc[1])


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(DataError, match="timezone-aware"):
        session_dates(pd.Series(pd.to_datetime(["2024-03-04 09:00"])))


@pytest.mark.parametrize(("timezone", "cutoff"), [("Mars/Olympus", "16:00"), (NEW_YORK, "4pm")])
def test_bad_timezone_or_cutoff_is_a_config_error(timezone: str, cutoff: str) -> None:
    with pytest.raises(ConfigError):
        session_dates(_stamps("2024-03-04 09:00"), timezone=timezone, cutoff=cutoff)


# Daily aggregation with the fake scorer; means computed by hand.

SCORER = FakeScorer({"up": 0.5, "down": -0.25, "big up more": 1.0, "news": 0.2})


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": _stamps(
                "2024-03-04 09:00",
                "2024-03-04 15:00",
                "2024-03-04 16:30",
                "2024-03-08 17:00",
                "2024-03-09 10:00",
            ),
            "symbols": ["AAPL", ["AAPL", "MSFT"], "MSFT", "AAPL, MSFT", "AAPL"],
            "headline": ["up", "down", "big up", "news", None],
            "summary": [None, "", "more", None, "  "],
        }
    )


def _field(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    panel = frame[name]
    assert isinstance(panel, pd.DataFrame)
    return panel


def test_daily_means_and_counts_match_a_hand_calculation() -> None:
    frame = daily_sentiment(_items(), scorer=SCORER)
    dates = pd.to_datetime(["2024-03-04", "2024-03-05", "2024-03-11"]).as_unit("ns")
    means = pd.DataFrame(
        {"AAPL": [(0.5 - 0.25) / 2, np.nan, 0.2], "MSFT": [-0.25, 1.0, 0.2]},
        index=pd.DatetimeIndex(dates, name="date"),
    )
    counts = pd.DataFrame({"AAPL": [2, 0, 1], "MSFT": [1, 1, 1]}, index=means.index)
    pd.testing.assert_frame_equal(_field(frame, "mean"), means, check_names=False)
    pd.testing.assert_frame_equal(_field(frame, "count"), counts, check_names=False)


def test_a_later_item_never_changes_earlier_dates() -> None:
    items = _items()
    full = daily_sentiment(items, scorer=SCORER)
    prefix = daily_sentiment(items.iloc[:2], scorer=SCORER)
    pd.testing.assert_frame_equal(
        full.loc[prefix.index, prefix.columns], prefix, check_column_type=False
    )


def test_a_single_symbol_column_is_accepted() -> None:
    items = _items().drop(columns="symbols").assign(symbol="SPY")
    frame = daily_sentiment(items, scorer=SCORER)
    assert frame[("count", "SPY")].tolist() == [2, 1, 1]


def test_empty_items_give_an_empty_frame() -> None:
    frame = daily_sentiment(_items().iloc[:0], scorer=SCORER)
    assert frame.empty
    assert frame.index.name == "date"


def test_items_without_text_columns_are_rejected() -> None:
    with pytest.raises(DataError, match="at least one of"):
        daily_sentiment(_items().drop(columns=["headline", "summary"]), scorer=SCORER)
