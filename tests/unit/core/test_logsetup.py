"""Logging: secrets are redacted in every handler; JSON lines carry extra fields."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from harvester.core.logsetup import configure_logging


@pytest.fixture(autouse=True)
def reset_harvester_logger() -> object:
    yield
    logger = logging.getLogger("harvester")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def read_log(tmp_path: Path) -> str:
    return (tmp_path / "harvester.log").read_text(encoding="utf-8")


def test_secret_values_are_masked_in_file_and_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(log_dir=tmp_path, secrets=["sk-live-abcdef123"])
    logging.getLogger("harvester.data").warning(
        "calling with key %s", "sk-live-abcdef123", extra={"url": "x?apikey=sk-live-abcdef123"}
    )
    text = read_log(tmp_path) + capsys.readouterr().err
    assert "sk-live-abcdef123" not in text
    assert "calling with key ***" in text
    assert "url=x?apikey=***" in text


def test_json_lines_have_message_level_and_extras(tmp_path: Path) -> None:
    configure_logging(log_dir=tmp_path, json_lines=True, console=False)
    logging.getLogger("harvester.app").info("loaded %d symbols", 24, extra={"run_id": "r1"})
    record = json.loads(read_log(tmp_path).splitlines()[-1])
    assert record["message"] == "loaded 24 symbols"
    assert record["level"] == "INFO"
    assert record["logger"] == "harvester.app"
    assert record["run_id"] == "r1"


def test_reconfiguring_does_not_stack_handlers(tmp_path: Path) -> None:
    configure_logging(log_dir=tmp_path, console=False)
    configure_logging(log_dir=tmp_path, console=False)
    logging.getLogger("harvester").warning("once")
    assert read_log(tmp_path).count("once") == 1


def test_short_strings_are_not_treated_as_secrets(tmp_path: Path) -> None:
    # A one-character "secret" would mask every occurrence of that letter.
    configure_logging(log_dir=tmp_path, secrets=["a"], console=False)
    logging.getLogger("harvester").warning("banana")
    assert "banana" in read_log(tmp_path)
