"""``harvester bot`` is registered and says what is missing instead of starting."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.cli.main import main


def test_bot_without_a_token_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    for name in ("DISCORD_BOT_TOKEN", "ANTHROPIC_API_KEY", "HARVESTER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["bot"]) != 0
    assert "DISCORD_BOT_TOKEN" in capsys.readouterr().err
    assert not (tmp_path / "home" / "harvester.db").exists()  # nothing opened or created
