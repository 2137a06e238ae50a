"""Tests for the deterministic synthetic market generator.

Expected values come from the parameters and hand derivations written out here, never from
the generator's own output.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harvester.testing
from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.data import synthetic
from harvester.data.calendars import sessions
from harvester.data.synthetic import (
    REGIME_NAMES,
    SyntheticMarket,
    SyntheticParams,
    generate_market,
    parse_synthetic_spec,
)

# Ten years of 20 symbols: about 2518 sessions, enough for every regime to recur many times.
LONG = SyntheticParams(symbols=20, years=10, seed=7)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return generate_market(LONG)


def _log_returns(market: SyntheticMarket) -> FloatArray:
    return np.diff(np.log(market.panel.array("close")), axis=0)


def _regimes_after_first(market: SyntheticMarket) -> npt.NDArray[np.int8]:
    return market.regimes.to_numpy()[1:]


def _column_corr(x: FloatArray, y: FloatArray) -> FloatArray:
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (y - y.mean(axis=0)) / y.std(axis=0)
    return np.asarray((x * y).mean(axis=0), dtype=np.float64)


# -- determinism ---------------------------------------------------------------------------


def test_same_params_give_bit_identical_panel_and_regimes() -> None:
    params = SyntheticParams(symbols=4, years=2, seed=11)
    first, second = generate_market(params), generate_market(params)
    assert first.panel.fingerprint() == second.panel.fingerprint()
    assert np.array_equal(first.regimes.to_numpy(), second.regimes.to_numpy())
    assert first.params == second.params == params


def test_different_seed_gives_different_data() -> None:
    first = generate_market(SyntheticParams(symbols=4, years=2, seed=11))
    second = generate_market(SyntheticParams(symbols=4, years=2, seed=12))
    assert first.panel.fingerprint() != second.panel.fingerprint()
    assert not np.array_equal(first.panel.array("close"), second.panel.array("close"))
    assert not np.array_equal(first.regimes.to_numpy(), second.regimes.to_numpy())


def test_a_symbol_has_the_same_data_whatever_the_number_of_symbols() -> None:
    small = generate_market(SyntheticParams(symbols=3, years=1, seed=5)).panel
    large = generate_market(SyntheticParams(symbols=9, years=1, seed=5)).panel
    for name in ("open", "high", "low", "close", "volume", "attention"):
        np.testing.assert_array_equal(small.array(name), large.array(name)[:, :3])
    for name in ("vix", "oil", "benchmark"):
        np.testing.assert_array_equal(small.aux[name], large.aux[name])


# -- shape, names, metadata ----------------------------------------------------------------


def test_defaults_give_twenty_symbols_over_five_nyse_years() -> None:
    market = generate_market()
    # NYSE sessions 2010-01-04 .. 2015-01-02: 252 + 252 + 250 + 252 + 252 + 1.
    assert market.panel.shape == (1259, 20)
    assert market.panel.index[0].strftime("%Y-%m-%d") == "2010-01-04"
    assert market.params == SyntheticParams()


def test_symbols_metadata_fields_and_aux_are_named_as_documented(market: SyntheticMarket) -> None:
    panel = market.panel
    assert panel.symbols[:3] == ("SYN000", "SYN001", "SYN002")
    assert panel.symbols[-1] == "SYN019"
    assert {meta.asset_class for meta in panel.meta.values()} == {"equity"}
    assert set(panel.fields) == {"open", "high", "low", "close", "volume", "attention"}
    assert set(panel.aux) == {"vix", "oil", "benchmark"}
    assert REGIME_NAMES == ("calm", "volatile", "panic")


def test_regimes_are_int8_codes_on_the_panel_index(market: SyntheticMarket) -> None:
    assert market.regimes.dtype == np.int8
    assert market.regimes.name == "regime"
    assert market.regimes.index.equals(market.panel.index)


def test_calendar_24_7_has_a_session_every_day() -> None:
    panel = generate_market(SyntheticParams(symbols=2, years=1, calendar="24/7")).panel
    # 2010-01-04 .. 2011-01-03 inclusive is 365 days (2010 is not a leap year).
    assert panel.shape == (365, 2)
    assert (np.diff(panel.index.asi8) == 86_400 * 10**9).all()


def test_panel_for_500_symbols_over_10_years_stays_under_100_megabytes() -> None:
    panel = generate_market(parse_synthetic_spec("symbols=500,years=10")).panel
    # Six float64 fields of 2518 x 500 are 6 * 2518 * 500 * 8 bytes = 60.4 MB, plus 3 aux series.
    assert panel.shape == (2518, 500)
    assert panel.nbytes < 100 * 10**6


@settings(max_examples=25, deadline=None)
@given(
    symbols=st.integers(1, 5),
    years=st.integers(1, 2),
    seed=st.integers(0, 2**32 - 1),
    calendar=st.sampled_from(["XNYS", "24/7"]),
)
def test_small_markets_have_the_right_shape_and_positive_prices(
    symbols: int, years: int, seed: int, calendar: str
) -> None:
    params = SyntheticParams(symbols=symbols, years=years, seed=seed, calendar=calendar)
    panel = generate_market(params).panel
    last_day = {1: "2011-01-03", 2: "2012-01-03"}[years]
    assert panel.index.equals(sessions(calendar, "2010-01-04", last_day))
    assert panel.shape == (len(panel.index), symbols)
    prices = np.stack([panel.array(name) for name in ("open", "high", "low", "close")])
    assert not np.isnan(prices).any()
    assert (prices > 0).all()
    assert (panel.array("volume") >= 1).all()


# -- bars ----------------------------------------------------------------------------------


def test_high_and_low_bracket_open_and_close_and_prices_are_positive(
    market: SyntheticMarket,
) -> None:
    panel = market.panel
    open_, high, low, close = (panel.array(k) for k in ("open", "high", "low", "close"))
    assert (high >= np.maximum(open_, close)).all()
    assert (low <= np.minimum(open_, close)).all()
    assert (low > 0).all()
    assert np.isfinite(high).all()


def test_open_is_previous_close_times_a_small_gap(market: SyntheticMarket) -> None:
    gap = np.log(market.panel.array("open")[1:] / market.panel.array("close")[:-1])
    # The gap's spread is gap_scale = 0.3 times the day's regime volatility, and a day's
    # return spreads at least that volatility, so the typical gap is about a third of the
    # typical move.
    ratio = np.median(np.abs(gap)) / np.median(np.abs(_log_returns(market)))
    assert 0.15 < ratio < 0.5


def test_log_volume_correlates_with_absolute_return(market: SyntheticMarket) -> None:
    log_volume = np.log(market.panel.array("volume")[1:])
    correlation = _column_corr(log_volume, np.abs(_log_returns(market)))
    # log V = base + stress[regime] + vol * (c * u + sqrt(1 - c^2) * noise), u = standardised
    # |r|. Stress and u both rise with the regime, which only raises the correlation, so it is
    # at least vol * c / sqrt(vol^2 + Var(stress)) = 0.15 / sqrt(0.09 + 0.09) = 0.354 with
    # Var(stress) <= 0.6^2 / 4. A per-symbol estimate over ~2500 sessions has a standard error
    # near 1 / sqrt(2500) = 0.02, so 0.30 leaves over two errors of room per symbol.
    assert correlation.min() > 0.30


def test_mean_log_volume_is_higher_in_panic_than_in_calm(market: SyntheticMarket) -> None:
    log_volume = np.log(market.panel.array("volume"))
    regimes = market.regimes.to_numpy()
    uplift = log_volume[regimes == 2].mean(axis=0) - log_volume[regimes == 0].mean(axis=0)
    # Stress adds 0.6 in panic over calm, and |r| is larger in panic, adding more; the noise
    # on a mean over 200+ panic sessions is about 0.35 / sqrt(200) = 0.025.
    assert uplift.min() > 0.5


# -- attention -----------------------------------------------------------------------------


def test_attention_exists_for_half_the_symbols_and_is_nan_for_the_others(
    market: SyntheticMarket,
) -> None:
    attention = market.panel.array("attention")
    has_data = ~np.isnan(attention).all(axis=0)
    assert has_data.sum() == math.ceil(0.5 * 20)
    assert not np.isnan(attention[:, has_data]).any()
    assert np.isnan(attention[:, ~has_data]).all()
    # The scale keeps the index well inside 0..100, so clipping never touched it.
    assert (attention[:, has_data] > 0).all()
    assert (attention[:, has_data] < 100).all()


@pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (0.25, 2), (1.0, 7)])
def test_attention_share_sets_how_many_symbols_have_attention(share: float, expected: int) -> None:
    params = SyntheticParams(symbols=7, years=1, attention_share=share)
    attention = generate_market(params).panel.array("attention")
    assert (~np.isnan(attention).all(axis=0)).sum() == expected


def _attentive(market: SyntheticMarket) -> tuple[FloatArray, FloatArray]:
    attention = market.panel.array("attention")
    columns = ~np.isnan(attention).all(axis=0)
    return attention[:, columns], np.abs(_log_returns(market))[:, columns]


def test_attention_innovation_correlates_with_absolute_return_at_attention_corr(
    market: SyntheticMarket,
) -> None:
    attention, magnitude = _attentive(market)
    level = (attention - 50.0) / LONG.attention_scale
    innovation = level[1:] - LONG.attention_persistence * level[:-1]
    # e_t = rho * u_t + sqrt(1 - rho^2) * n_t has correlation rho with u_t, hence with |r_t|.
    # Standard error per symbol (1 - rho^2) / sqrt(2517) = 0.013; ten symbols averaged.
    correlation = _column_corr(innovation, magnitude)
    assert correlation.mean() == pytest.approx(LONG.attention_corr, abs=0.02)


def test_attention_change_matches_closed_form_without_volatility_clustering() -> None:
    # Equal regimes and no jumps make |r| serially independent, where the closed form
    # corr(delta a_t, |r_t|) = rho / sqrt(1 + (1 - phi) / (1 + phi)) holds exactly.
    params = SyntheticParams(
        symbols=20,
        years=10,
        vol_multipliers=(1.0, 1.0, 1.0),
        market_drift=(0.0, 0.0, 0.0),
        jump_prob=(0.0, 0.0, 0.0),
    )
    attention, magnitude = _attentive(generate_market(params))
    rho, phi = 0.6, 0.9
    expected = rho / math.sqrt(1 + (1 - phi) / (1 + phi))  # 0.5848
    # Per-symbol standard error about (1 - 0.58^2) / sqrt(2517) = 0.013; the ten symbols'
    # attention noise is independent, so their mean has one near 0.004: 0.02 is five of them.
    correlation = _column_corr(np.diff(attention, axis=0), magnitude)
    assert correlation.mean() == pytest.approx(expected, abs=0.02)


def _expected_change_correlation(magnitude: FloatArray, *, rho: float, phi: float) -> float:
    # For a_t = phi a_{t-1} + e_t, e_t = rho u_t + sqrt(1 - rho^2) n_t, u standardised |r|
    # with autocorrelation acf(k), and G = sum_{k>=1} phi^(k-1) acf(k):
    #   Cov(delta a_t, u_t) = rho (1 - (1 - phi) G)
    #   Var(a)              = (1 + 2 rho^2 phi G) / (1 - phi^2)
    #   Var(delta a_t)      = 1 + (1 - phi)^2 Var(a) - 2 (1 - phi) rho^2 G
    # G = 0 gives back rho / sqrt(1 + (1 - phi) / (1 + phi)).
    u = (magnitude - magnitude.mean()) / magnitude.std()
    lags = np.arange(1, 400)
    acf = np.array([np.mean(u[k:] * u[:-k]) for k in lags])
    g = float(np.sum(phi ** (lags - 1) * acf))
    variance_level = (1 + 2 * rho**2 * phi * g) / (1 - phi**2)
    variance_change = 1 + (1 - phi) ** 2 * variance_level - 2 * (1 - phi) * rho**2 * g
    return rho * (1 - (1 - phi) * g) / math.sqrt(variance_change)


def test_attention_change_correlation_accounts_for_volatility_clustering(
    market: SyntheticMarket,
) -> None:
    attention, magnitude = _attentive(market)
    rho, phi = LONG.attention_corr, LONG.attention_persistence
    expected = [_expected_change_correlation(m, rho=rho, phi=phi) for m in magnitude.T]
    correlation = _column_corr(np.diff(attention, axis=0), magnitude)
    # Regimes cluster |r|, so yesterday's level already carries part of today's move and the
    # correlation sits below the independent-case 0.585 (near 0.52 here). Tolerance as in the
    # test above; the estimated G adds a little noise of its own.
    assert correlation.mean() == pytest.approx(np.mean(expected), abs=0.02)
    assert correlation.mean() < 0.6 / math.sqrt(1 + 0.1 / 1.9)


# -- regimes and market-wide series --------------------------------------------------------


def test_regime_path_visits_every_state_with_the_configured_persistence(
    market: SyntheticMarket,
) -> None:
    path = market.regimes.to_numpy()
    assert set(np.unique(path).tolist()) == {0, 1, 2}
    for state, persistence in enumerate(LONG.regime_persistence):
        starts = path[:-1] == state
        stayed = float(np.mean(path[1:][starts] == state))
        # Binomial standard error of an estimated staying probability; four of them.
        tolerance = 4 * math.sqrt(persistence * (1 - persistence) / starts.sum())
        assert stayed == pytest.approx(persistence, abs=tolerance)


def test_realised_volatility_is_ordered_calm_volatile_panic(market: SyntheticMarket) -> None:
    returns, regimes = _log_returns(market), _regimes_after_first(market)
    benchmark = np.diff(np.log(market.panel.aux["benchmark"]))
    for series in (returns, benchmark):
        calm, volatile, panic = (series[regimes == k].std() for k in range(3))
        assert calm < volatile < panic


def test_vix_is_low_teens_in_calm_and_high_in_panic(market: SyntheticMarket) -> None:
    vix, regimes = market.panel.aux["vix"], market.regimes.to_numpy()
    calm, volatile, panic = (float(vix[regimes == k].mean()) for k in range(3))
    # Regime level = 100 * premium * market_vol * multiplier * sqrt(252):
    # 100 * 1.1 * 0.0075 * sqrt(252) = 13.1 in calm, x2 = 26.2 volatile, x3.5 = 45.8 panic.
    # Smoothing lags regime switches, pulling short panic spells below their level.
    assert 11 < calm < 16
    assert 21 < volatile < 30
    assert panic > 35


def test_symbols_load_on_the_benchmark_with_betas_in_range(market: SyntheticMarket) -> None:
    returns = _log_returns(market)
    benchmark = np.diff(np.log(market.panel.aux["benchmark"]))
    centred = benchmark - benchmark.mean()
    beta = (centred @ (returns - returns.mean(axis=0))) / (centred @ centred)
    # Betas are drawn from 0.6..1.4; an estimate over ~2500 sessions has a standard error
    # near 0.03 / (0.013 * 50) = 0.05, so 0.2 of slack is four errors.
    assert beta.min() > 0.4
    assert beta.max() < 1.6


def test_oil_and_benchmark_are_positive_and_finite(market: SyntheticMarket) -> None:
    for name in ("oil", "benchmark", "vix"):
        series = market.panel.aux[name]
        assert np.isfinite(series).all()
        assert (series > 0).all()


# -- spec parsing --------------------------------------------------------------------------


def test_parse_spec_reads_keys_values_and_per_regime_lists() -> None:
    params = parse_synthetic_spec(
        " symbols = 500, years=10,seed=7,calendar=24/7,jump_prob=0/0.01/0.05,beta_range=0.5/1.5"
    )
    assert (params.symbols, params.years, params.seed) == (500, 10, 7)
    assert params.calendar == "24/7"
    assert params.jump_prob == (0.0, 0.01, 0.05)
    assert params.beta_range == (0.5, 1.5)
    assert params.attention_share == 0.5


def test_parse_empty_spec_gives_the_documented_defaults() -> None:
    params = parse_synthetic_spec("")
    assert params == SyntheticParams()
    assert (params.symbols, params.years, params.seed) == (20, 5, 7)
    assert (params.start, params.calendar) == ("2010-01-04", "XNYS")
    assert (params.attention_share, params.attention_corr) == (0.5, 0.6)


def test_unknown_key_error_names_the_key_a_suggestion_and_the_valid_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_synthetic_spec("symbol=5")
    message = str(caught.value)
    assert "'symbol'" in message
    assert "did you mean 'symbols'" in message
    assert "attention_corr" in message and "years" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("spec", "key", "expected"),
    [
        ("symbols=abc", "symbols", "an integer >= 1"),
        ("symbols=0", "symbols", "an integer >= 1"),
        ("seed=1.5", "seed", "an integer >= 0"),
        ("years", "years", "an integer >= 1"),
        ("attention_corr=2", "attention_corr", "[-1, 1]"),
        ("market_vol=nan", "market_vol", "> 0"),
        ("jump_prob=0.1/0.2", "jump_prob", "three numbers"),
        ("beta_range=2/1", "beta_range", "low <= high"),
        ("start=someday", "start", "a date"),
        ("start=2010-01-04T00:00Z", "start", "without time zone"),
        ("regime_persistence=0.9/0.9/1.5", "regime_persistence", "in [0, 1]"),
    ],
)
def test_bad_value_error_names_the_key_what_was_expected_and_the_valid_keys(
    spec: str, key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_synthetic_spec(spec)
    message = str(caught.value)
    assert repr(key) in message
    assert expected in message
    assert "valid keys: attention_corr" in message
    assert "\n" not in message


def test_repeated_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'seed' given twice"):
        parse_synthetic_spec("seed=1,seed=2")


def test_direct_construction_validates_values() -> None:
    with pytest.raises(ConfigError, match="'attention_share'"):
        SyntheticParams(attention_share=1.5)


def test_years_past_the_calendar_range_are_a_config_error() -> None:
    # The calendars run to 2035-12-31: 25 years from 2010-01-04 end 2035-01-03 and fit,
    # 26 years would end 2036-01-03 and must not be cut short silently.
    assert generate_market(SyntheticParams(symbols=1, years=25)).panel.index[-1].year == 2035
    with pytest.raises(ConfigError, match="fall outside"):
        generate_market(SyntheticParams(symbols=1, years=26))


def test_unknown_calendar_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown trading calendar"):
        generate_market(SyntheticParams(symbols=1, years=1, calendar="NOPE"))


# -- public API ----------------------------------------------------------------------------


def test_testing_kit_reexports_the_generator_api_and_its_fakes() -> None:
    exported = harvester.testing.__all__
    assert exported == sorted(exported)
    assert set(exported) == set(synthetic.__all__) | {"SimClock"}
    for name in synthetic.__all__:
        assert getattr(harvester.testing, name) is getattr(synthetic, name)
