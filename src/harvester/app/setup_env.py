"""``harvester setup``: ask for credentials, check their shape, write ``.env`` safely.

- Each answer is checked against the shape of the real credential (a Discord webhook URL, a
  bot token, a numeric channel id, Alpaca key id and secret, an ``sk-ant-`` Anthropic key,
  an Alpha Vantage key); a bad one is asked again with a one-line reason that never repeats
  the value.
- Secrets are read without echo (the CLI passes ``getpass``) and never printed or logged:
  the summary shows ``sk-a…(redacted)`` or ``set``.
- ``.env`` is merged (unknown keys and comments kept, known keys replaced in place), written
  atomically with mode 600, and ``.env`` is appended to ``.gitignore`` when missing.

The variable names are the ones the project reads (``config.secrets.SECRET_NAMES``; the
Alpaca names are the data provider's, which the broker also accepts).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harvester.core.errors import ConfigError
from harvester.core.paths import atomic_path

__all__ = [
    "QUESTIONS",
    "Prompter",
    "Question",
    "ensure_gitignored",
    "mask",
    "merge_env",
    "non_interactive",
    "parse_env",
    "run_setup",
    "validate",
    "write_env",
]

log = logging.getLogger(__name__)

Check = Callable[[str], str | None]  # None when valid, else the reason


def _pattern(regex: str, reason: str) -> Check:
    compiled = re.compile(regex)
    return lambda value: None if compiled.fullmatch(value) else reason


def _yes_no(value: str) -> str | None:
    return None if value.lower() in {"true", "false"} else "answer yes or no"


@dataclass(frozen=True, slots=True)
class Question:
    """One variable: how to ask for it, whether it is secret, and its shape."""

    name: str
    prompt: str
    check: Check
    secret: bool = True
    where: str = ""


WEBHOOK = Question(
    "DISCORD_WEBHOOK_URL", "Discord webhook URL",
    _pattern(r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks/"
             r"\d{15,21}/[\w-]{20,100}",
             "expected https://discord.com/api/webhooks/<id>/<token>"),
    where="Channel settings > Integrations > Webhooks > Copy Webhook URL",
)  # fmt: skip
BOT_TOKEN = Question(
    "DISCORD_BOT_TOKEN", "Discord bot token",
    _pattern(r"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}",
             "a bot token is three dot-separated parts, e.g. MTE...Gx.Ab12Cd.x9..."),
    where="https://discord.com/developers/applications > your app > Bot > Reset Token",
)  # fmt: skip
CHANNEL = Question(
    "DISCORD_CHANNEL_ID", "Discord channel id",
    _pattern(r"\d{15,21}", "a channel id is 15 to 21 digits (Developer Mode > Copy Channel ID)"),
)  # fmt: skip
ALPACA_KEY = Question(
    "ALPACA_API_KEY_ID", "Alpaca API key id",
    _pattern(r"[PAC]K[A-Z0-9]{14,30}", "an Alpaca key id is PK... (paper) or AK... (live), "
             "16 to 32 capital letters and digits"),
    where="https://app.alpaca.markets > API Keys",
)  # fmt: skip
ALPACA_SECRET = Question(
    "ALPACA_API_SECRET_KEY", "Alpaca API secret key",
    _pattern(r"[A-Za-z0-9/+]{30,60}", "an Alpaca secret is 30 to 60 letters and digits"),
)  # fmt: skip
ALPACA_PAPER = Question("ALPACA_PAPER", "Alpaca paper account?", _yes_no, secret=False)
ANTHROPIC = Question(
    "ANTHROPIC_API_KEY", "Anthropic API key",
    _pattern(r"sk-ant-[\w-]{20,}", "an Anthropic key starts with sk-ant- and is longer"),
    where="https://console.anthropic.com > API Keys",
)  # fmt: skip
ALPHA_VANTAGE = Question(
    "ALPHA_VANTAGE_API_KEY", "Alpha Vantage API key",
    _pattern(r"[A-Za-z0-9]{8,32}", "an Alpha Vantage key is 8 to 32 letters and digits"),
    where="https://www.alphavantage.co/support/#api-key",
)  # fmt: skip
SCHEDULER = Question(
    "ENABLE_SCHEDULER", "Run the daily scan and weekly retrain inside the bot process?",
    lambda v: None if v in {"0", "1"} else "answer yes or no", secret=False,
)  # fmt: skip

QUESTIONS: tuple[Question, ...] = (
    WEBHOOK, BOT_TOKEN, CHANNEL, ALPACA_KEY, ALPACA_SECRET, ALPACA_PAPER, ANTHROPIC,
    ALPHA_VANTAGE, SCHEDULER,
)  # fmt: skip
_BY_NAME = {q.name: q for q in QUESTIONS}


def validate(name: str, value: str) -> str | None:
    """The reason ``value`` is not a valid ``name`` (never quoting it), or None."""
    question = _BY_NAME.get(name)
    return None if question is None else question.check(value)


def mask(name: str, value: str) -> str:
    """What the summary may show of a value: non-secrets in full, secrets barely."""
    question = _BY_NAME.get(name)
    if question is not None and not question.secret:
        return value
    return f"{value[:4]}…(redacted)" if len(value) >= 16 else "set"


# ---- .env and .gitignore ------------------------------------------------------------------

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)")


def parse_env(text: str) -> dict[str, str]:
    """The ``KEY=value`` pairs of a ``.env`` text (quotes stripped; comments ignored)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match and not line.lstrip().startswith("#"):
            raw = match.group(2).strip()
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
                raw = raw[1:-1]
            values[match.group(1)] = raw
    return values


def _quoted(value: str) -> str:
    if re.fullmatch(r"[\w@%+=:,./-]*", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def merge_env(text: str, updates: Mapping[str, str]) -> str:
    """``text`` with each key of ``updates`` set: replaced in place, or appended at the end.

    Every other line (unknown keys, comments, blank lines) is kept as it was.
    """
    pending = dict(updates)
    lines = []
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match and not line.lstrip().startswith("#") and match.group(1) in pending:
            key = match.group(1)
            line = f"{key}={_quoted(pending.pop(key))}"
        lines.append(line)
    lines += [f"{key}={_quoted(value)}" for key, value in pending.items()]
    return "\n".join(lines) + "\n"


def write_env(path: Path, updates: Mapping[str, str]) -> Path:
    """Merge ``updates`` into the ``.env`` at ``path`` atomically; the file ends mode 600."""
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    with atomic_path(path) as tmp:
        tmp.chmod(0o600)  # before any secret is written into it
        tmp.write_text(merge_env(existing, updates), encoding="utf-8")
    path.chmod(0o600)
    return path


def ensure_gitignored(gitignore: Path, entry: str = ".env") -> bool:
    """Append ``entry`` to ``gitignore`` unless a line already ignores it; True when added."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    if any(line.strip() in {entry, f"/{entry}"} for line in text.splitlines()):
        return False
    prefix = "" if not text or text.endswith("\n") else "\n"
    with gitignore.open("a", encoding="utf-8") as handle:
        handle.write(f"{prefix}{entry}\n")
    return True


# ---- asking -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prompter:
    """The terminal: ``ask`` echoes (input), ``ask_secret`` does not (getpass), ``say`` prints."""

    ask: Callable[[str], str]
    ask_secret: Callable[[str], str]
    say: Callable[[str], None]
    attempts: int = 5


def _answer(io: Prompter, question: Question, existing: Mapping[str, str]) -> str | None:
    """A valid value, or None to keep what is there (Enter) or after too many bad answers."""
    if question.where:
        io.say(f"  ({question.where})")
    keep = " [set; Enter keeps it]" if existing.get(question.name) else " [Enter skips]"
    for _ in range(io.attempts):
        reader = io.ask_secret if question.secret else io.ask
        value = reader(f"{question.prompt}{keep}: ").strip()
        if not value:
            return None
        reason = question.check(value)
        if reason is None:
            return value
        io.say(f"  not valid: {reason}; try again")
    io.say(f"  {question.name} left unchanged after {io.attempts} tries")
    return None


def _yes(io: Prompter, prompt: str, *, default: bool) -> bool:
    hint = "[Y/n]" if default else "[y/N]"
    while True:
        answer = io.ask(f"{prompt} {hint}: ").strip().lower()
        if not answer:
            return default
        if answer in {"y", "yes", "n", "no"}:
            return answer.startswith("y")
        io.say("  answer y or n")


def _discord(io: Prompter, existing: Mapping[str, str]) -> dict[str, str]:
    while True:
        way = io.ask("Discord alerts: [w]ebhook, [b]ot token + channel, or [s]kip? [s]: ")
        way = way.strip().lower()[:1] or "s"
        if way in {"w", "b", "s"}:
            break
        io.say("  answer w, b or s")
    questions = {"w": (WEBHOOK,), "b": (BOT_TOKEN, CHANNEL), "s": ()}[way]
    return _ask_all(io, questions, existing)


def _ask_all(
    io: Prompter, questions: Iterable[Question], existing: Mapping[str, str]
) -> dict[str, str]:
    values = {}
    for question in questions:
        value = _answer(io, question, existing)
        if value is not None:
            values[question.name] = value
    return values


def _alpaca(io: Prompter, existing: Mapping[str, str]) -> dict[str, str]:
    if not _yes(io, "Set Alpaca keys (broker and market data)?", default=False):
        return {}
    values = _ask_all(io, (ALPACA_KEY, ALPACA_SECRET), existing)
    paper = _yes(io, "Is it a paper-trading account?", default=True)
    values[ALPACA_PAPER.name] = "true" if paper else "false"
    key = values.get(ALPACA_KEY.name, "")
    if key and paper != key.startswith("PK"):
        io.say("  note: paper keys start with PK, live keys with AK; check the account type")
    return values


def run_setup(io: Prompter, existing: Mapping[str, str]) -> dict[str, str]:
    """Ask every group in turn; return only the variables given a new value."""
    io.say("harvester setup: answers go to .env (mode 600); secrets are not echoed.")
    values = _discord(io, existing)
    values |= _alpaca(io, existing)
    values |= _ask_all(io, (ANTHROPIC, ALPHA_VANTAGE), existing)
    scheduler = _yes(io, SCHEDULER.prompt, default=existing.get(SCHEDULER.name) == "1")
    values[SCHEDULER.name] = "1" if scheduler else "0"
    return values


def non_interactive(environ: Mapping[str, str], flags: Mapping[str, str]) -> dict[str, str]:
    """The known variables found in ``flags`` (winning) or ``environ``, each validated.

    Raises
    ------
    ConfigError
        A value has the wrong shape (the message names the variable, never the value).
    """
    values = {q.name: environ[q.name] for q in QUESTIONS if environ.get(q.name)}
    unknown = sorted(set(flags) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"unknown setup variable(s) {unknown}; known: {sorted(_BY_NAME)}")
    values |= {k: v for k, v in flags.items() if v}
    bad = [(name, validate(name, value)) for name, value in values.items()]
    problems = [f"{name}: {reason}" for name, reason in bad if reason is not None]
    if problems:
        raise ConfigError("invalid setup value(s): " + "; ".join(problems))
    return values
