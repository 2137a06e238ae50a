"""``harvester setup`` driven in a real pseudo-terminal, and in batch mode."""

from __future__ import annotations

import os
import pty
import select
import stat
import sys
import time
from pathlib import Path

import pytest

from harvester.app.setup_env import parse_env
from harvester.cli.main import main

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz012345"
CHANNEL = "123456789012345678"
ALPACA_KEY = "PKABCDEFGHIJ1234567"
ALPACA_SECRET = "abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD"
BAD_ANTHROPIC = "sk-wrong-0123456789abcdefghij"
ANTHROPIC = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
SECRETS = (TOKEN, CHANNEL, ALPACA_KEY, ALPACA_SECRET, BAD_ANTHROPIC, ANTHROPIC)
VARIABLES = ("DISCORD_", "ALPACA_", "ANTHROPIC_", "ALPHA_VANTAGE_", "ENABLE_SCHEDULER")


class Terminal:
    """A child process on a pseudo-terminal: wait for text, type a line."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal, so getpass works
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, *argv], env)
        self.output = b""
        self.seen = 0

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.output += chunk
        return bool(chunk)

    def expect(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while (at := self.output.find(text.encode(), self.seen)) < 0:
            if not self._read(deadline):
                raise AssertionError(f"never saw {text!r}; got {self.output.decode()[-500:]!r}")
        self.seen = at + len(text)

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def finish(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(VARIABLES)}
    return env | {"HARVESTER_HOME": str(home), "TERM": "dumb"}


def test_setup_in_a_terminal_writes_a_private_env_and_never_shows_a_secret(
    tmp_path: Path, isolated_home: Path
) -> None:
    env_file, gitignore = tmp_path / ".env", tmp_path / ".gitignore"
    env_file.write_text("# mine\nCUSTOM_KEY=keep-me\nANTHROPIC_API_KEY=old\n")
    env_file.chmod(0o644)
    gitignore.write_text("*.pyc")  # no final newline
    term = Terminal(["-m", "harvester", "setup"], tmp_path, _clean_env(isolated_home))
    for prompt, answer in (
        ("[s]kip?", "b"),
        ("Discord bot token", TOKEN),
        ("Discord channel id", CHANNEL),
        ("Set Alpaca keys", "y"),
        ("Alpaca API key id", ALPACA_KEY),
        ("Alpaca API secret key", ALPACA_SECRET),
        ("paper-trading account?", ""),
        ("Anthropic API key", BAD_ANTHROPIC),
        ("not valid: an Anthropic key starts with sk-ant-", None),
        ("Anthropic API key", ANTHROPIC),
        ("Alpha Vantage API key", ""),
        ("inside the bot process?", "y"),
    ):
        term.expect(prompt)
        if answer is not None:
            term.type(answer)
    assert term.finish() == 0
    shown = term.output.decode(errors="replace")
    assert "wrote .env (mode 600)" in shown and "ANTHROPIC_API_KEY = sk-a…(redacted)" in shown

    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    written = parse_env(env_file.read_text())
    assert written == {
        "CUSTOM_KEY": "keep-me", "ANTHROPIC_API_KEY": ANTHROPIC, "DISCORD_BOT_TOKEN": TOKEN,
        "DISCORD_CHANNEL_ID": CHANNEL, "ALPACA_API_KEY_ID": ALPACA_KEY,
        "ALPACA_API_SECRET_KEY": ALPACA_SECRET, "ALPACA_PAPER": "true", "ENABLE_SCHEDULER": "1",
    }  # fmt: skip
    assert env_file.read_text().startswith("# mine\n")
    assert gitignore.read_text().splitlines() == ["*.pyc", ".env"]

    logs = [p.read_text() for p in (isolated_home / "logs").glob("*.log*")]
    assert logs and "setup wrote" in logs[0]
    for secret in SECRETS:
        assert secret not in shown, "a secret reached the terminal"
        assert all(secret not in log for log in logs), "a secret reached the log"


def test_batch_mode_takes_the_environment_and_names_bad_variables_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file, gitignore = tmp_path / "prod.env", tmp_path / ".gitignore"
    gitignore.write_text("build/\n.env\n")
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC)
    monkeypatch.setenv("DISCORD_CHANNEL_ID", CHANNEL)
    args = ["setup", "--non-interactive", "--env-file", str(env_file), "--gitignore",
            str(gitignore), "--value", f"DISCORD_BOT_TOKEN={TOKEN}"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr()
    assert all(s not in out.out + out.err for s in SECRETS)
    written = parse_env(env_file.read_text())
    assert (written["ANTHROPIC_API_KEY"], written["DISCORD_BOT_TOKEN"]) == (ANTHROPIC, TOKEN)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert gitignore.read_text() == "build/\n.env\n"  # already ignored: unchanged

    monkeypatch.setenv("ANTHROPIC_API_KEY", BAD_ANTHROPIC)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "ANTHROPIC_API_KEY" in err and BAD_ANTHROPIC not in err
    assert parse_env(env_file.read_text())["ANTHROPIC_API_KEY"] == ANTHROPIC  # not rewritten
