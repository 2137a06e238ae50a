"""Secrets come from the environment or .env files and never show their values."""

from __future__ import annotations

from pathlib import Path

from harvester.config.secrets import load_secrets


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("ALPHA_VANTAGE_API_KEY=from-file-123\nDISCORD_BOT_TOKEN=tok-456\n")
    secrets = load_secrets({"ALPHA_VANTAGE_API_KEY": "from-env-789"}, [dotenv])
    assert secrets.get("ALPHA_VANTAGE_API_KEY") == "from-env-789"
    assert secrets.get("DISCORD_BOT_TOKEN") == "tok-456"
    assert secrets.get("ANTHROPIC_API_KEY") is None
    status = secrets.status()
    assert status["ALPHA_VANTAGE_API_KEY"] == "set (from environment)"
    assert status["DISCORD_BOT_TOKEN"] == f"set (from {dotenv})"
    assert status["ANTHROPIC_API_KEY"] == "not set"


def test_values_never_appear_in_repr(tmp_path: Path) -> None:
    secrets = load_secrets({"ANTHROPIC_API_KEY": "sk-very-secret"}, [tmp_path / "missing.env"])
    assert "sk-very-secret" not in repr(secrets)
    assert "sk-very-secret" not in str(secrets.status())


def test_unknown_names_in_dotenv_are_ignored(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("SOMETHING_ELSE=1\n")
    assert load_secrets({}, [dotenv]).plain() == {}
