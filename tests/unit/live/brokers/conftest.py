"""Alpaca's HTTP layer replaced by canned responses: the real ``TradingClient`` parses them,
no request ever leaves the process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from alpaca.trading.client import TradingClient

RESPONSES = Path(__file__).parent / "responses"


def response_json(name: str) -> Any:
    """A recorded/hand-made Alpaca response body from ``responses/``."""
    return json.loads((RESPONSES / name).read_text())


def order_json(**changes: Any) -> dict[str, Any]:
    """The canned order with ``changes`` applied (status, filled_qty, ...)."""
    body: dict[str, Any] = response_json("order_new.json")
    body.update(changes)
    return body


@dataclass
class Reply:
    method: str
    path: str
    status: int = 200
    body: Any = None
    error: type[Exception] | None = None


@dataclass
class FakeSession:
    """Stands in for ``requests.Session``: answers queued replies in order, records calls."""

    replies: list[Reply] = field(default_factory=list)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)

    def reply(self, method: str, path: str, status: int = 200, body: Any = None) -> None:
        self.replies.append(Reply(method, path, status, body))

    def fail(self, method: str, path: str, error: type[Exception]) -> None:
        self.replies.append(Reply(method, path, error=error))

    def request(self, method: str, url: str, **opts: Any) -> requests.Response:
        self.calls.append((method, url, opts.get("json") or opts.get("params")))
        assert self.replies, f"unexpected request {method} {url}"
        reply = self.replies.pop(0)
        assert (method, url.split("/v2", 1)[1]) == (reply.method, reply.path), (method, url)
        if reply.error is not None:
            raise reply.error("canned failure")
        response = requests.Response()
        response.status_code = reply.status
        response.url = url
        response.reason = "canned"
        text = "" if reply.body is None else json.dumps(reply.body)
        response._content = text.encode()
        return response


@pytest.fixture
def session() -> FakeSession:
    return FakeSession()


@pytest.fixture
def trading_client(session: FakeSession) -> TradingClient:
    """alpaca-py's real client on the paper endpoint, its HTTP session faked, no retries."""
    client = TradingClient("PKTESTKEY", "test-secret", paper=True)
    client._session = session  # type: ignore[assignment]
    client._retry = 0  # a 429 is reported at once instead of sleeping between retries
    return client


@dataclass(frozen=True)
class Canned:
    """The canned bodies, for tests: ``canned.load("clock.json")``, ``canned.order(...)``."""

    load: Callable[[str], Any] = response_json
    order: Callable[..., dict[str, Any]] = order_json


@pytest.fixture
def canned() -> Canned:
    return Canned()
