"""Discord alerts against a local HTTP server: payload schema, retries, silence, failures."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.notify import (
    BackgroundNotifier,
    DiscordNotifier,
    ExitAlert,
    NullNotifier,
    RetrainAlert,
    RetryPolicy,
    SignalAlert,
    messages,
    notify_from_env,
)


@dataclass
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


class FakeDiscord:
    """Replies are taken in order from ``script``; when it runs out, 204 No Content."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.posted: list[Posted] = []
        self.lock = threading.Lock()
        self.url = ""

    def next_reply(self) -> Reply:
        with self.lock:
            return self.script.pop(0) if self.script else Reply()


def _handler(fake: FakeDiscord) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            with fake.lock:
                fake.posted.append(Posted(self.path, dict(self.headers), payload))
            reply = fake.next_reply()
            body = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@pytest.fixture
def discord_server() -> Iterator[FakeDiscord]:
    fake = FakeDiscord()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# Discord's documented limits, written out here rather than read from the code under test.
TEXT_LIMITS = {"title": 256, "description": 4096}
FIELD_NAME, FIELD_VALUE, FIELDS, FOOTER, TOTAL, EMBEDS = 256, 1024, 25, 2048, 6000, 10


def embed_problems(embed: dict[str, Any]) -> tuple[list[str], int]:
    """How one embed breaks the per-embed limits, and the characters it counts."""
    problems: list[str] = []
    color = embed.get("color")
    if not isinstance(color, int) or isinstance(color, bool) or not 0 <= color <= 0xFFFFFF:
        problems.append(f"colour {color!r}")
    texts = [embed.get(key, "") for key in TEXT_LIMITS]
    problems += [f"{k} of {len(t)}" for k, t in zip(TEXT_LIMITS, texts, strict=True)
                 if len(t) > TEXT_LIMITS[k]]  # fmt: skip
    fields = embed.get("fields", [])
    if len(fields) > FIELDS:
        problems.append(f"{len(fields)} fields")
    for f in fields:
        if not (0 < len(f["name"]) <= FIELD_NAME and 0 < len(f["value"]) <= FIELD_VALUE):
            problems.append(f"field {len(f['name'])}/{len(f['value'])}")
    footer = embed.get("footer", {}).get("text", "")
    if len(footer) > FOOTER:
        problems.append(f"footer of {len(footer)}")
    chars = sum(map(len, texts)) + sum(len(f["name"]) + len(f["value"]) for f in fields)
    return problems, chars + len(footer)


def schema_problems(payload: dict[str, Any]) -> list[str]:
    """Every way ``payload`` breaks Discord's embed limits (empty when it is valid)."""
    embeds = payload.get("embeds", [])
    problems = [] if 1 <= len(embeds) <= EMBEDS else [f"{len(embeds)} embeds"]
    total = 0
    for embed in embeds:
        found, chars = embed_problems(embed)
        problems += found
        total += chars
    if total > TOTAL:
        problems.append(f"{total} characters in all")
    return problems


class Sleeps:
    """The injected sleep: records each wait instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def webhook(server: FakeDiscord, sleeps: Sleeps, **policy: float) -> DiscordNotifier:
    return DiscordNotifier(
        webhook_url=f"{server.url}/api/webhooks/1/secret-token",
        sleep=sleeps, policy=RetryPolicy(**policy),  # type: ignore[arg-type]
    )  # fmt: skip


AAPL = SignalAlert("AAPL", 0.72, price=185.5, stop=180.25, target=196.0, size=0.15,
                   score_label="P(rally)")  # fmt: skip


def test_a_signal_posts_one_green_embed_with_hand_formatted_fields(
    discord_server: FakeDiscord,
) -> None:
    sleeps = Sleeps()
    assert webhook(discord_server, sleeps).signals([AAPL])
    [posted] = discord_server.posted
    assert posted.path == "/api/webhooks/1/secret-token"
    [embed] = posted.payload["embeds"]
    assert embed["color"] == 0x2ECC71
    assert "AAPL" in embed["title"]
    values = {f["name"]: f["value"] for f in embed["fields"]}
    assert values == {"P(rally)": "72.0%", "Price": "185.50", "Stop": "180.25",
                      "Target": "196.00", "Size": "15.0%"}  # fmt: skip
    assert schema_problems(posted.payload) == []
    assert sleeps.waits == []


def test_twenty_three_signals_are_split_into_messages_of_at_most_ten(
    discord_server: FakeDiscord,
) -> None:
    alerts = [SignalAlert(f"S{i:02d}", 0.5 + i / 100) for i in range(23)]
    assert webhook(discord_server, Sleeps()).signals(alerts)
    sizes = [len(p.payload["embeds"]) for p in discord_server.posted]
    assert sizes == [10, 10, 3]
    titles = [e["title"] for p in discord_server.posted for e in p.payload["embeds"]]
    assert titles == [f"New signal: S{i:02d} (long)" for i in range(23)]
    assert all(schema_problems(p.payload) == [] for p in discord_server.posted)


def test_exits_are_green_on_profit_red_on_loss_and_retrain_is_blue(
    discord_server: FakeDiscord,
) -> None:
    notifier = webhook(discord_server, Sleeps())
    assert notifier.exits([ExitAlert("AAPL", "target", 0.0351, 7, pnl=527.0),
                           ExitAlert("MSFT", "stop", -0.02, 3)])  # fmt: skip
    assert notifier.retrain(RetrainAlert(fresh=840, stale=3, elapsed_seconds=754.0, trained=12))
    win, loss = discord_server.posted[0].payload["embeds"]
    assert (win["color"], loss["color"]) == (0x2ECC71, 0xE74C3C)
    assert {f["name"]: f["value"] for f in win["fields"]} == {
        "Reason": "target", "P&L": "+3.51%", "Bars held": "7", "P&L $": "+527.00"}  # fmt: skip
    assert {f["name"]: f["value"] for f in loss["fields"]}["P&L"] == "-2.00%"
    [retrain] = discord_server.posted[1].payload["embeds"]
    assert retrain["color"] == 0x3498DB
    values = {f["name"]: f["value"] for f in retrain["fields"]}
    assert values == {"Fresh": "840", "Stale": "3", "Trained": "12", "Elapsed": "12m 34s"}


def test_an_oversized_error_is_cut_to_the_limits_with_an_ellipsis(
    discord_server: FakeDiscord,
) -> None:
    assert webhook(discord_server, Sleeps()).error("x" * 300, "trace line\n" * 1000)
    [posted] = discord_server.posted
    [embed] = posted.payload["embeds"]
    assert embed["color"] == 0xE74C3C
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["description"]) == 4096 and embed["description"].endswith("…")
    assert schema_problems(posted.payload) == []


texts = st.text(min_size=0, max_size=3000)
fields = st.lists(st.fixed_dictionaries({"name": texts, "value": texts}), max_size=40)
embeds = st.lists(
    st.fixed_dictionaries(
        {"title": texts, "description": st.text(max_size=6000), "fields": fields,
         "color": st.integers(-(2**30), 2**30), "footer": st.fixed_dictionaries({"text": texts})}
    ),
    min_size=1, max_size=25,
)  # fmt: skip


@given(embeds)
def test_any_embeds_pack_into_valid_messages_in_order(raw: list[dict[str, Any]]) -> None:
    payloads = messages(raw)
    assert all(schema_problems(p) == [] for p in payloads)
    assert sum(len(p["embeds"]) for p in payloads) == len(raw)


def test_a_429_is_retried_after_the_retry_after_header(discord_server: FakeDiscord) -> None:
    discord_server.script = [Reply(429, {"Retry-After": "2"})]
    sleeps = Sleeps()
    assert webhook(discord_server, sleeps).signals([AAPL])
    assert sleeps.waits == [2.0]
    assert len(discord_server.posted) == 2
    assert discord_server.posted[0].payload == discord_server.posted[1].payload


def test_a_429_body_retry_after_in_fractional_seconds_wins(discord_server: FakeDiscord) -> None:
    body = {"message": "You are being rate limited.", "retry_after": 0.35, "global": False}
    discord_server.script = [Reply(429, {"Retry-After": "1"}, body)]
    sleeps = Sleeps()
    assert webhook(discord_server, sleeps).signals([AAPL])
    assert sleeps.waits == [0.35]


def test_a_500_then_204_succeeds_after_one_backoff(discord_server: FakeDiscord) -> None:
    discord_server.script = [Reply(500), Reply(502), Reply(204)]
    sleeps = Sleeps()
    assert webhook(discord_server, sleeps, base=0.5).signals([AAPL])
    assert sleeps.waits == [0.5, 1.0]  # 0.5 * 2**0, 0.5 * 2**1
    assert len(discord_server.posted) == 3


def test_retries_are_bounded_and_a_wait_beyond_the_budget_is_not_taken(
    discord_server: FakeDiscord,
) -> None:
    discord_server.script = [Reply(503)] * 10
    sleeps = Sleeps()
    assert not webhook(discord_server, sleeps, retries=3, base=1.0).signals([AAPL])
    assert sleeps.waits == [1.0, 2.0, 4.0]
    assert len(discord_server.posted) == 4
    discord_server.script = [Reply(429, {"Retry-After": "120"})]
    later = Sleeps()
    assert not webhook(discord_server, later, budget=60.0).signals([AAPL])
    assert later.waits == []


def test_a_400_is_final_and_never_retried(discord_server: FakeDiscord) -> None:
    discord_server.script = [Reply(400, body={"message": "Invalid Form Body"})]
    sleeps = Sleeps()
    assert not webhook(discord_server, sleeps).signals([AAPL])
    assert (len(discord_server.posted), sleeps.waits) == (1, [])


def test_the_bot_token_posts_to_the_channel_with_a_bot_authorization(
    discord_server: FakeDiscord,
) -> None:
    environ = {"DISCORD_BOT_TOKEN": "bot-token-1", "DISCORD_CHANNEL_ID": "123456789012345678"}
    notifier = notify_from_env(environ, api_base=f"{discord_server.url}/api/v10")
    assert isinstance(notifier, DiscordNotifier)
    assert notifier.error("scan failed", "no data")
    [posted] = discord_server.posted
    assert posted.path == "/api/v10/channels/123456789012345678/messages"
    assert posted.headers["Authorization"] == "Bot bot-token-1"


def test_an_unconfigured_notifier_is_silent(discord_server: FakeDiscord) -> None:
    for environ in ({}, {"DISCORD_BOT_TOKEN": "only-a-token"}, {"DISCORD_WEBHOOK_URL": " "}):
        notifier = notify_from_env(environ, api_base=discord_server.url)
        assert isinstance(notifier, NullNotifier)
        assert notifier.signals([AAPL]) and notifier.error("x")
    assert discord_server.posted == []


def test_a_dead_server_does_not_raise_and_never_logs_the_webhook(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on once the socket is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/webhooks/9/very-secret-token"
    sleeps = Sleeps()
    notifier = DiscordNotifier(webhook_url=url, sleep=sleeps, policy=RetryPolicy(retries=2))
    with caplog.at_level(logging.DEBUG, logger="harvester.notify"):
        assert not notifier.signals([AAPL])
        assert not notifier.retrain(RetrainAlert(1, 0, 1.0))
    assert sleeps.waits == [1.0, 2.0, 1.0, 2.0]
    assert "very-secret-token" not in caplog.text
    assert "dropped" in caplog.text


def test_the_background_notifier_returns_at_once_and_delivers_on_close(
    discord_server: FakeDiscord,
) -> None:
    environ = {"DISCORD_WEBHOOK_URL": f"{discord_server.url}/api/webhooks/1/t"}
    notifier = notify_from_env(environ, background=True)
    assert isinstance(notifier, BackgroundNotifier)
    assert notifier.signals([AAPL]) and notifier.error("boom")
    notifier.close(timeout=10)
    kinds = [p.payload["embeds"][0]["title"] for p in discord_server.posted]
    assert kinds == ["New signal: AAPL (long)", "Error: boom"]


def test_a_full_queue_drops_the_alert_instead_of_blocking() -> None:
    class Stuck:
        """An inner notifier that blocks until released, so the queue fills."""

        def __init__(self) -> None:
            import threading

            self.release = threading.Event()
            self.calls = 0

        def signals(self, alerts: Any) -> bool:
            self.calls += 1
            self.release.wait(10)
            return True

        exits = signals

        def retrain(self, alert: Any) -> bool:
            return True

        def error(self, title: str, detail: str = "") -> bool:
            return True

        def close(self) -> None:
            pass

    inner = Stuck()
    notifier = BackgroundNotifier(inner, maxsize=2)
    results = [notifier.signals([AAPL]) for _ in range(6)]
    assert results.count(False) >= 1  # one in flight at most, two queued, the rest dropped
    inner.release.set()
    notifier.close(timeout=10)
    assert inner.calls == results.count(True)
