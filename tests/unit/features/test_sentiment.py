"""Sentiment scorers and the causal daily aggregation, on hand-made texts and timestamps."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import ConfigError, DataError
from harvester.data.panel import Panel
from harvester.features.sentiment import (
    FakeScorer,
    FinBertScorer,
    VaderScorer,
    daily_sentiment,
    session_dates,
    with_sentiment,
)
from harvester.testing import SyntheticParams, generate_market

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


# Sentiment as panel fields, on a synthetic panel (sessions from Mon 4 Jan 2010; Mon 18 Jan
# 2010, Martin Luther King day, is not a session).


@pytest.fixture(scope="module")
def market() -> Panel:
    return generate_market(SyntheticParams(symbols=2, years=1, seed=5)).panel


def _news(market: Panel) -> pd.DataFrame:
    a, b = market.symbols
    return pd.DataFrame(
        {
            "timestamp": _stamps(
                "2010-01-04 09:00",  # Mon, a: 0.5
                "2010-01-04 15:00",  # Mon, a: -0.25
                "2010-01-04 16:30",  # After the close: Tue, a: 1.0
                "2010-01-08 17:00",  # Fri evening: Mon 11, b: 0.2
                "2010-01-09 10:00",  # Sat: Mon 11, b: -0.25
                "2010-01-05 10:00",  # Empty text: not counted
                "2010-01-05 11:00",  # A symbol the panel lacks
            ),
            "symbol": [a, a, a, b, b, b, "ZZZ"],
            "headline": ["up", "down", "big up more", "news", "down", " ", "up"],
        }
    )


def _at(panel: Panel, name: str, date: str, column: int) -> float:
    return float(panel.array(name)[panel.index.get_loc(pd.Timestamp(date)), column])


def test_sentiment_fields_match_a_hand_calculation(market: Panel) -> None:
    daily = daily_sentiment(_news(market), scorer=SCORER, sessions=market.index)
    out = with_sentiment(market, daily)
    np.testing.assert_array_equal(out.array("close"), market.array("close"))
    assert _at(out, "sentiment", "2010-01-04", 0) == pytest.approx((0.5 - 0.25) / 2)
    assert _at(out, "news_count", "2010-01-04", 0) == 2.0
    assert _at(out, "sentiment", "2010-01-05", 0) == 1.0  # Published 16:30 Monday.
    assert _at(out, "sentiment", "2010-01-11", 1) == pytest.approx((0.2 - 0.25) / 2)
    assert _at(out, "news_count", "2010-01-11", 1) == 2.0
    # Everything else: no news, NaN sentiment and a count of 0.
    counts = out.array("news_count")
    assert counts.sum() == 5.0
    assert np.isnan(out.array("sentiment")[counts == 0]).all()
    assert (counts[np.isnan(out.array("sentiment"))] == 0).all()


def test_no_news_is_nan_but_neutral_news_is_zero(market: Panel) -> None:
    a = market.symbols[0]
    items = pd.DataFrame(
        {"timestamp": _stamps("2010-01-06 10:00"), "symbol": [a], "headline": ["flat"]}
    )
    out = with_sentiment(market, daily_sentiment(items, scorer=FakeScorer({"flat": 0.0})))
    assert _at(out, "sentiment", "2010-01-06", 0) == 0.0
    assert _at(out, "news_count", "2010-01-06", 0) == 1.0
    assert np.isnan(_at(out, "sentiment", "2010-01-07", 0))
    assert _at(out, "news_count", "2010-01-07", 0) == 0.0


def test_a_date_that_is_not_a_session_counts_for_the_next_one_pooled(market: Panel) -> None:
    a = market.symbols[0]
    items = pd.DataFrame(
        {
            "timestamp": _stamps("2010-01-15 17:00", "2010-01-19 10:00", "2010-01-19 11:00"),
            "symbol": [a, a, a],
            "headline": ["up", "down", "down"],
        }
    )
    # Without sessions, Friday evening rolls to Mon 18 (a holiday): Tue 19 in the panel.
    daily = daily_sentiment(items, scorer=SCORER)
    assert pd.Timestamp("2010-01-18") in daily.index
    out = with_sentiment(market, daily, field="tone", count_field="items")
    assert _at(out, "tone", "2010-01-19", 0) == pytest.approx((0.5 - 0.25 - 0.25) / 3)
    assert _at(out, "items", "2010-01-19", 0) == 3.0
    assert np.isnan(_at(out, "tone", "2010-01-15", 0))  # Never earlier.


def test_dates_outside_the_panel_are_dropped(market: Panel) -> None:
    a = market.symbols[0]
    items = pd.DataFrame(
        {
            "timestamp": _stamps("2009-12-30 10:00", "2011-06-01 10:00"),
            "symbol": [a, a],
            "headline": ["up", "up"],
        }
    )
    out = with_sentiment(market, daily_sentiment(items, scorer=SCORER))
    assert out.array("news_count").sum() == 0.0
    assert np.isnan(out.array("sentiment")).all()


def test_a_later_item_never_changes_earlier_sessions(market: Panel) -> None:
    items = _news(market)
    full = with_sentiment(market, daily_sentiment(items, scorer=SCORER))
    for cut in range(len(items)):
        prefix = with_sentiment(market, daily_sentiment(items.iloc[:cut], scorer=SCORER))
        # Sessions before the first one a left-out item counts for are unchanged.
        before = market.index < session_dates(items["timestamp"].iloc[cut:]).min()
        for name in ("sentiment", "news_count"):
            np.testing.assert_array_equal(prefix.array(name)[before], full.array(name)[before])


def test_an_empty_table_gives_nan_sentiment_and_zero_counts(market: Panel) -> None:
    out = with_sentiment(market, daily_sentiment(_news(market).iloc[:0], scorer=SCORER))
    assert np.isnan(out.array("sentiment")).all()
    assert (out.array("news_count") == 0).all()


def test_a_table_that_is_not_daily_sentiment_output_is_rejected(market: Panel) -> None:
    with pytest.raises(DataError, match="daily_sentiment"):
        with_sentiment(market, pd.DataFrame({"AAPL": [0.1]}))
