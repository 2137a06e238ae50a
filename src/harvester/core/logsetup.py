"""Logging set-up for the shells (CLI, service, bot); library code only calls ``getLogger``.

Console output is human-readable; the rotating file in ``<home>/logs/harvester.log`` is
key=value text or JSON lines. A redaction filter replaces every known secret value with
``***`` before any handler formats a record.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging"]

_ROOT_NAME = "harvester"
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Replace secret values in a record's message and extra fields with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self.redact(record.getMessage())
            record.args = None
            for key, value in list(vars(record).items()):
                if key not in _STANDARD_ATTRS and isinstance(value, str):
                    setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_extra_fields(record))
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class KeyValueFormatter(logging.Formatter):
    """``time level logger message key=value ...`` lines for the log file."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _extra_fields(record).items())
        return f"{base} {extras}" if extras else base


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


def configure_logging(
    *,
    level: str = "INFO",
    log_dir: Path | None = None,
    json_lines: bool = False,
    secrets: Iterable[str] = (),
    max_bytes: int = 5_000_000,
    backup_count: int = 5,
    console: bool = True,
) -> logging.Logger:
    """Attach console and (optionally) rotating-file handlers to the ``harvester`` logger.

    Calling it again replaces the handlers it added before, so tests and repeated CLI
    invocations in one process do not stack handlers.
    """
    logger = logging.getLogger(_ROOT_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level.upper())
    logger.propagate = False
    redactor = RedactingFilter(secrets)
    handlers: list[logging.Handler] = []
    if console:
        stream = logging.StreamHandler()
        human = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        stream.setFormatter(JsonFormatter() if json_lines else human)
        handlers.append(stream)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / "harvester.log", maxBytes=max_bytes, backupCount=backup_count
        )
        formatter: logging.Formatter = (
            JsonFormatter()
            if json_lines
            else KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        file_handler.setFormatter(formatter)
        handlers.append(file_handler)
    for handler in handlers:
        handler.addFilter(redactor)
        logger.addHandler(handler)
    # httpx logs full request URLs at INFO, and some providers put API keys in the query.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return logger
