"""``harvester replay`` piped into ``harvester consume`` (stdin and Redis), as processes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from harvester.cli.main import main

HARVESTER = [sys.executable, "-m", "harvester"]


def _counters(stderr: str) -> dict[str, int]:
    lines = [line for line in stderr.splitlines() if line.startswith('{"consume"')]
    counters: dict[str, int] = json.loads(lines[-1])["consume"]
    return counters


def test_replay_synthetic_piped_into_consume_stdin(tmp_path: Path) -> None:
    replay = subprocess.Popen(
        [*HARVESTER, "replay", "synthetic", "--events", "3000", "--seed", "5"],
        stdout=subprocess.PIPE,
    )
    consume = subprocess.run(
        [*HARVESTER, "consume", "--stdin", "--batch", "100", "--ledger", str(tmp_path / "l.db")],
        stdin=replay.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    assert replay.wait() == 0
    counters = _counters(consume.stderr)
    assert counters["processed"] == 3000 and counters["dead_lettered"] == 0


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_consume_stdin_dead_letters_bad_lines_to_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b'{"type":"control","ts":"2026-01-02T15:00:00Z"}\n{"type":"bar"\n\n')
    dead = tmp_path / "dead.ndjson"
    assert main(["consume", "--stdin", "--dead-letter", str(dead)]) == 0
    counters = _counters(capsys.readouterr().err)
    assert (counters["processed"], counters["dead_lettered"]) == (1, 1)
    letter = json.loads(dead.read_text())
    assert letter["id"] == "line:2" and letter["line"] == '{"type":"bar"' and letter["reason"]


def test_replay_a_recorded_file_and_bad_arguments(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    recorded = tmp_path / "recorded.ndjson"
    recorded.write_text('{"type":"control","ts":"2026-01-02T15:00:00Z"}\n\n' * 3)
    assert main(["replay", str(recorded), "--events", "2"]) == 0
    assert capsysbinary.readouterr().out.count(b"\n") == 2
    assert main(["consume"]) == main(["consume", "--stdin", "--redis", "redis://x"]) != 0
    assert b"exactly one source" in capsysbinary.readouterr().err
    assert main(["replay", str(tmp_path / "missing.ndjson")]) != 0
    assert b"no such file" in capsysbinary.readouterr().err


@pytest.mark.redis
def test_replay_into_redis_then_two_consumers_share_the_stream(
    redis_url: str, tmp_path: Path
) -> None:
    import redis

    stream = f"test:cli:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    try:
        assert (
            main(
                [
                    "replay",
                    "synthetic",
                    "--events",
                    "2000",
                    "--redis",
                    redis_url,
                    "--stream",
                    stream,
                ]
            )
            == 0
        )
        ledger = str(tmp_path / "ledger.sqlite")
        consumers = [
            subprocess.Popen(
                [
                    *HARVESTER,
                    "consume",
                    "--redis",
                    redis_url,
                    "--stream",
                    stream,
                    "--group",
                    "g",
                    "--consumer",
                    who,
                    "--batch",
                    "50",
                    "--block-ms",
                    "100",
                    "--idle-exit",
                    "2",
                    "--ledger",
                    ledger,
                ],
                stderr=subprocess.PIPE,
                text=True,
            )
            for who in ("one", "two")
        ]
        counts = [_counters(p.communicate()[1]) for p in consumers]
        assert sum(c["processed"] for c in counts) == 2000
        assert client.xpending(stream, "g")["pending"] == 0
    finally:
        client.delete(stream, f"{stream}:dead")
        client.close()
