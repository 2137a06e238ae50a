"""Custom profiles: created from assignments, used by --profile, validated before writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.config.loader import ConfigRequest, load_config
from harvester.config.profiles import create_profile, validate_config_file
from harvester.core.errors import ConfigError
from harvester.core.paths import HarvesterHome


@pytest.fixture
def home(tmp_path: Path) -> HarvesterHome:
    return HarvesterHome(tmp_path / "home")


def test_created_profile_is_used_by_name(home: HarvesterHome) -> None:
    path = create_profile(
        "my_profile",
        ["risk_params.max_drawdown_pct=10", "composer.use_composer=true"],
        home=home,
    )
    assert json.loads(path.read_text()) == {
        "composer": {"use_composer": True},
        "risk_params": {"max_drawdown_pct": 10},
    }
    environ = {"HARVESTER_HOME": str(home.root)}
    config = load_config(ConfigRequest(profile="my_profile"), environ=environ).config
    assert config.risk_params.max_drawdown_pct == 10.0
    assert config.composer.use_composer is True


def test_profile_based_on_builtin_keeps_its_values(home: HarvesterHome) -> None:
    create_profile("low_plus", ["risk_params.max_drawdown_pct=6"], home=home, based_on="risk_low")
    environ = {"HARVESTER_HOME": str(home.root)}
    config = load_config(ConfigRequest(profile="low_plus"), environ=environ).config
    assert config.risk_params.max_gross_exposure_pct == 25.0
    assert config.risk_params.max_drawdown_pct == 6.0


def test_bad_value_writes_nothing(home: HarvesterHome) -> None:
    with pytest.raises(ConfigError, match=r"risk_params\.max_drawdown_pct"):
        create_profile("broken", ["risk_params.max_drawdown_pct=-3"], home=home)
    assert not (home.profiles / "broken.json").exists()
    assert not home.profiles.exists() or not any(home.profiles.iterdir())


def test_unknown_key_is_rejected(home: HarvesterHome) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'risk_params\.max_dd'"):
        create_profile("typo", ["risk_params.max_dd=3"], home=home)


def test_builtin_names_and_existing_profiles_are_protected(home: HarvesterHome) -> None:
    with pytest.raises(ConfigError, match="built-in"):
        create_profile("risk_low", [], home=home)
    create_profile("mine", [], home=home)
    with pytest.raises(ConfigError, match="--force"):
        create_profile("mine", [], home=home)
    create_profile("mine", ["initial_capital=5"], home=home, overwrite=True)


def test_validate_config_file(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"initial_capital": 250000}', encoding="utf-8")
    assert validate_config_file(good).initial_capital == 250_000.0
    bad = tmp_path / "bad.json"
    bad.write_text('{"initial_capitol": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.json: unknown key 'initial_capitol'"):
        validate_config_file(bad)
