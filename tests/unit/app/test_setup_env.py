"""Set-up pieces: shapes of credentials, the .env merge, .gitignore, the question flow."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.app.setup_env import (
    Prompter,
    ensure_gitignored,
    mask,
    merge_env,
    non_interactive,
    parse_env,
    run_setup,
    validate,
    write_env,
)
from harvester.core.errors import ConfigError

WEBHOOK = "https://discord.com/api/webhooks/123456789012345678/" + "a1B2-c3_D4" * 7


@pytest.mark.parametrize(
    ("name", "value", "valid"),
    [
        ("DISCORD_WEBHOOK_URL", WEBHOOK, True),
        ("DISCORD_WEBHOOK_URL", WEBHOOK.replace("https", "http"), False),
        ("DISCORD_WEBHOOK_URL", "https://example.com/api/webhooks/1/abc", False),
        ("DISCORD_CHANNEL_ID", "123456789012345678", True),
        ("DISCORD_CHANNEL_ID", "#general", False),
        ("DISCORD_BOT_TOKEN", "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0", True),
        ("DISCORD_BOT_TOKEN", "not-a-token", False),
        ("ALPACA_API_KEY_ID", "PKABCDEFGHIJ1234567", True),
        ("ALPACA_API_KEY_ID", "pk-lowercase", False),
        ("ALPACA_API_SECRET_KEY", "abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD", True),
        ("ALPACA_API_SECRET_KEY", "short", False),
        ("ANTHROPIC_API_KEY", "sk-ant-api03-abcdefghijklmnopqrstuv", True),
        ("ANTHROPIC_API_KEY", "sk-abcdefghijklmnopqrstuvwxyz", False),
        ("ALPHA_VANTAGE_API_KEY", "DEMO1234ABCD5678", True),
        ("ALPHA_VANTAGE_API_KEY", "has space here", False),
    ],
)
def test_credential_shapes(name: str, value: str, valid: bool) -> None:
    reason = validate(name, value)
    assert (reason is None) == valid
    if reason is not None:
        assert value not in reason and "\n" not in reason


def test_mask_never_shows_a_secret() -> None:
    assert mask("ANTHROPIC_API_KEY", "sk-ant-api03-abcdefghijklmnop") == "sk-a…(redacted)"
    assert mask("DISCORD_CHANNEL_ID", "1234") == "set"
    assert mask("ALPACA_PAPER", "true") == "true"  # not a secret


def test_merge_keeps_unknown_keys_and_comments_and_replaces_in_place() -> None:
    text = "# top\nFOO=1\nexport ANTHROPIC_API_KEY='old'\n\nBAR=\"two words\"\n"
    merged = merge_env(text, {"ANTHROPIC_API_KEY": "new", "NEW_KEY": "a b"})
    assert merged == '# top\nFOO=1\nANTHROPIC_API_KEY=new\n\nBAR="two words"\nNEW_KEY="a b"\n'
    assert parse_env(merged) == {"FOO": "1", "ANTHROPIC_API_KEY": "new", "BAR": "two words",
                                 "NEW_KEY": "a b"}  # fmt: skip


names = st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True)
values = st.from_regex(r"[\w@%+=:,./-]{0,20}", fullmatch=True)


@given(st.dictionaries(names, values), st.dictionaries(names, values))
def test_merge_then_parse_is_the_union_with_updates_winning(
    before: dict[str, str], updates: dict[str, str]
) -> None:
    text = "".join(f"{k}={v}\n" for k, v in before.items())
    assert parse_env(merge_env(text, updates)) == before | updates


def test_write_env_is_mode_600_even_over_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("KEEP=1\n")
    path.chmod(0o644)
    write_env(path, {"ANTHROPIC_API_KEY": "sk-ant-x"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert parse_env(path.read_text()) == {"KEEP": "1", "ANTHROPIC_API_KEY": "sk-ant-x"}
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left


def test_gitignore_gets_env_once(tmp_path: Path) -> None:
    ignore = tmp_path / ".gitignore"
    assert ensure_gitignored(ignore)
    assert not ensure_gitignored(ignore)
    assert ignore.read_text() == ".env\n"
    other = tmp_path / "other"
    other.write_text("/.env")
    assert not ensure_gitignored(other)


class Script:
    """Answers in order; records what was said (prompts of visible and hidden questions)."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.said: list[str] = []
        self.hidden: list[str] = []

    def prompter(self) -> Prompter:
        def ask(prompt: str) -> str:
            self.said.append(prompt)
            return self.answers.pop(0)

        def secret(prompt: str) -> str:
            self.hidden.append(prompt)
            return self.answers.pop(0)

        return Prompter(ask=ask, ask_secret=secret, say=self.said.append, attempts=2)


def test_the_flow_re_asks_with_a_reason_and_gives_up_after_the_attempts() -> None:
    script = Script(["w", "http://nope", WEBHOOK, "n", "bad-key", "also-bad", "", ""])
    values = run_setup(script.prompter(), existing={})
    assert values == {"DISCORD_WEBHOOK_URL": WEBHOOK, "ENABLE_SCHEDULER": "0"}
    reasons = [s for s in script.said if s.startswith("  not valid")]
    assert len(reasons) == 3  # the webhook once, the Anthropic key twice
    assert any("ANTHROPIC_API_KEY left unchanged after 2 tries" in s for s in script.said)
    assert script.hidden[0].startswith("Discord webhook URL")


def test_batch_values_are_validated_and_unknown_names_refused() -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant-api03-abcdefghijklmnopqrstuv", "PATH": "/bin"}
    assert non_interactive(environ, {"ALPACA_PAPER": "false"}) == {
        "ANTHROPIC_API_KEY": environ["ANTHROPIC_API_KEY"], "ALPACA_PAPER": "false"}  # fmt: skip
    with pytest.raises(ConfigError, match="DISCORD_CHANNEL_ID"):
        non_interactive({}, {"DISCORD_CHANNEL_ID": "general"})
    with pytest.raises(ConfigError, match="unknown"):
        non_interactive({}, {"NOT_A_VARIABLE": "x"})


def test_env_example_documents_every_secret_and_setup_variable() -> None:
    from harvester.app.setup_env import QUESTIONS
    from harvester.config.secrets import SECRET_NAMES

    text = (Path(__file__).parents[3] / ".env.example").read_text()
    documented = {line.lstrip("# ").split("=")[0] for line in text.splitlines() if "=" in line}
    wanted = set(SECRET_NAMES) | {q.name for q in QUESTIONS} | {"HARVESTER_HOME", "IB_PORT"}
    assert wanted <= documented, wanted - documented
