"""The layered loader: order of layers, unknown keys and bad types named with their source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from harvester.config.loader import ConfigRequest, load_config
from harvester.config.models import BayesianConfig, HarvesterConfig
from harvester.core.errors import ConfigError


def write_json(path: Path, values: object) -> Path:
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {"HARVESTER_HOME": str(tmp_path / "home")}


def test_defaults_come_from_the_specs(environ: dict[str, str]) -> None:
    config = load_config(ConfigRequest(), environ=environ).config
    assert config.signals.panic_threshold == 3.0
    assert config.signals.panic_score_weights.trends_weight == 0.8
    assert config.universe.cri_threshold == 0.4
    assert config.risk_management.base_position_fraction == 0.005
    assert config.risk_management.max_open_positions == 4
    assert config.risk_management.trailing_stops.atr_multiplier == 1.5
    assert config.bayesian.priors == (0.3, 0.4, 0.3)
    assert config.risk_params.max_gross_exposure_pct == 50.0


@pytest.mark.parametrize(
    ("profile", "exposure", "drawdown"),
    [("risk_low", 25.0, 8.0), ("risk_balanced", 50.0, 15.0), ("risk_strict", 75.0, 25.0)],
)
def test_builtin_profiles_hold_the_composer_values(
    environ: dict[str, str], profile: str, exposure: float, drawdown: float
) -> None:
    config = load_config(ConfigRequest(profile=profile), environ=environ).config
    assert config.risk_params.max_gross_exposure_pct == exposure
    assert config.risk_params.max_drawdown_pct == drawdown
    assert config.profile == profile


def test_cli_flag_beats_profile_beats_base_file(tmp_path: Path, environ: dict[str, str]) -> None:
    base = write_json(
        tmp_path / "base.json",
        {
            "risk_params": {"max_drawdown_pct": 11.0, "max_daily_loss_pct": 3.0},
            "initial_capital": 7.0,
        },
    )
    only_base = load_config(ConfigRequest(base_file=base), environ=environ)
    assert only_base.config.risk_params.max_drawdown_pct == 11.0
    with_profile = load_config(ConfigRequest(base_file=base, profile="risk_low"), environ=environ)
    assert with_profile.config.risk_params.max_drawdown_pct == 8.0
    # A key the profile does not set still comes from the base file.
    assert with_profile.config.risk_params.max_daily_loss_pct == 3.0
    request = ConfigRequest(
        base_file=base, profile="risk_low", assignments=["risk_params.max_drawdown_pct=5"]
    )
    with_flag = load_config(request, environ=environ)
    assert with_flag.config.risk_params.max_drawdown_pct == 5.0
    assert (
        with_flag.sources["risk_params.max_drawdown_pct"] == "--set risk_params.max_drawdown_pct=5"
    )
    assert with_flag.sources["risk_params.max_daily_loss_pct"] == str(base)
    assert with_flag.sources["signals.panic_threshold"] == "default"


def test_environment_beats_profile_and_cli_beats_environment(environ: dict[str, str]) -> None:
    env = {**environ, "HARVESTER_RISK_PARAMS__MAX_DRAWDOWN_PCT": "12.5"}
    from_env = load_config(ConfigRequest(profile="risk_strict"), environ=env)
    assert from_env.config.risk_params.max_drawdown_pct == 12.5
    request = ConfigRequest(profile="risk_strict", flags={"initial_capital": 50_000.0})
    assert load_config(request, environ=env).config.initial_capital == 50_000.0
    request = ConfigRequest(assignments=["risk_params.max_drawdown_pct=9"])
    assert load_config(request, environ=env).config.risk_params.max_drawdown_pct == 9.0


@pytest.mark.parametrize(
    ("symbol", "asset_class", "strategies"),
    [
        ("BTC-USD", "crypto", ("momentum", "mean_reversion", "breakout")),
        ("SPY", "etf", ("momentum", "mean_reversion")),
        ("TSLA", "equity", ("momentum", "breakout")),
    ],
)
def test_asset_overrides_pick_the_eligible_strategies(
    environ: dict[str, str], symbol: str, asset_class: str, strategies: tuple[str, ...]
) -> None:
    config = load_config(ConfigRequest(asset=symbol), environ=environ).config
    assert config.asset_class == asset_class
    assert config.composer.eligible_strategies == strategies


def test_unknown_key_in_base_file_names_file_and_key(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    base = write_json(tmp_path / "base.json", {"risk_params": {"max_drawdown": 10}})
    with pytest.raises(ConfigError) as info:
        load_config(ConfigRequest(base_file=base), environ=environ)
    message = str(info.value)
    assert str(base) in message
    assert "'risk_params.max_drawdown'" in message
    assert "did you mean 'max_drawdown_pct'" in message
    assert "\n" not in message


def test_unknown_environment_variable_is_named(environ: dict[str, str]) -> None:
    env = {**environ, "HARVESTER_RISK_PARAMS__NOPE": "1"}
    with pytest.raises(ConfigError, match="environment HARVESTER_RISK_PARAMS__NOPE"):
        load_config(ConfigRequest(), environ=env)


def test_reserved_environment_variables_are_not_config_keys(environ: dict[str, str]) -> None:
    env = {**environ, "HARVESTER_DATABASE_URL": "sqlite://", "HARVESTER_TEST_REDIS_URL": "x"}
    assert load_config(ConfigRequest(), environ=env).config.initial_capital == 100_000.0


def test_wrong_type_names_source_and_key(tmp_path: Path, environ: dict[str, str]) -> None:
    base = write_json(tmp_path / "base.json", {"signals": {"panic_threshold": "high"}})
    with pytest.raises(ConfigError) as info:
        load_config(ConfigRequest(base_file=base), environ=environ)
    assert str(base) in str(info.value)
    assert "'signals.panic_threshold'" in str(info.value)
    assert "'high'" in str(info.value)


def test_wrong_type_from_cli_names_the_flag(environ: dict[str, str]) -> None:
    request = ConfigRequest(assignments=["risk_management.max_open_positions=many"])
    with pytest.raises(ConfigError, match=r"--set risk_management.max_open_positions=many"):
        load_config(request, environ=environ)


def test_section_given_a_scalar_is_rejected(tmp_path: Path, environ: dict[str, str]) -> None:
    base = write_json(tmp_path / "base.json", {"risk_params": 3})
    with pytest.raises(ConfigError, match="'risk_params' must be an object, found int"):
        load_config(ConfigRequest(base_file=base), environ=environ)


def test_invalid_json_reports_line_and_column(tmp_path: Path, environ: dict[str, str]) -> None:
    base = tmp_path / "base.json"
    base.write_text('{\n  "initial_capital": ,\n}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"base.json: invalid JSON at line 2 column 22"):
        load_config(ConfigRequest(base_file=base), environ=environ)


def test_cross_field_rule_priors_must_match_states(environ: dict[str, str]) -> None:
    request = ConfigRequest(assignments=["bayesian.n_states=2"])
    with pytest.raises(ConfigError, match="priors has 3 values but n_states is 2"):
        load_config(request, environ=environ)


def test_unknown_profile_lists_the_choices(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="risk_balanced, risk_low, risk_strict"):
        load_config(ConfigRequest(profile="risk_medium"), environ=environ)


def test_home_config_json_is_the_default_base(tmp_path: Path, environ: dict[str, str]) -> None:
    home = Path(environ["HARVESTER_HOME"])
    home.mkdir()
    write_json(home / "config.json", {"initial_capital": 42.0})
    assert load_config(ConfigRequest(), environ=environ).config.initial_capital == 42.0


def test_content_hash_changes_with_any_value(environ: dict[str, str]) -> None:
    first = load_config(ConfigRequest(), environ=environ).config
    again = load_config(ConfigRequest(), environ=environ).config
    changed = load_config(ConfigRequest(profile="risk_low"), environ=environ).config
    assert first.content_hash() == again.content_hash()
    assert first.content_hash() != changed.content_hash()


def test_conviction_chain_and_regime_defaults() -> None:
    config = HarvesterConfig()
    assert config.bayesian.n_init == 1
    assert config.bayesian.stressed_states == (2,)
    assert config.bayesian.rule_conviction_window == 20
    assert config.bayesian.fallback_conviction == 0.5
    assert config.regimes.vol_rank_window == 252
    assert config.regimes.chop_threshold == 61.8
    assert config.regimes.market_filter_period == 200
    two = BayesianConfig(n_states=2, priors=(0.5, 0.5))
    assert two.stressed_states == (1,)


@pytest.mark.parametrize(
    "fields",
    [
        {"stressed_states": (3,)},
        {"stressed_states": ()},
        {"stressed_states": (1, 1)},
        {"n_init": 0},
        {"fallback_conviction": 1.5},
    ],
)
def test_bad_conviction_settings_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BayesianConfig.model_validate(fields)
