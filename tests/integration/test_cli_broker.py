"""``harvester broker test-order`` through ``main(argv)`` with a fake Alpaca client injected
through the broker registry (no network)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from alpaca.trading.models import Order
from alpaca.trading.requests import OrderRequest as AlpacaOrderRequest

from harvester.cli.main import main
from harvester.live.brokers.alpaca import open_alpaca
from harvester.live.brokers.base import Broker
from harvester.live.brokers.registry import BROKER_FACTORIES, open_broker
from harvester.live.paper import PaperBroker
from harvester.store import open_store
from harvester.store.repository import account_fills, order_by_client_id

ORDER = Path(__file__).parents[1] / "unit/live/brokers/responses/order_new.json"


class FakeTradingClient:
    """Answers like alpaca-py's TradingClient: accepted on submit, then ``then`` on look-up."""

    next_then: ClassVar[dict[str, Any]] = {
        "status": "filled",
        "filled_qty": "1",
        "filled_avg_price": "471.23",
    }

    def __init__(self, then: dict[str, Any], **credentials: Any) -> None:
        self.credentials = credentials
        self.then = then
        self.body: dict[str, Any] = json.loads(ORDER.read_text())
        self.submitted: list[AlpacaOrderRequest] = []
        self.cancelled: list[str] = []

    def submit_order(self, order_data: AlpacaOrderRequest) -> Order:
        self.submitted.append(order_data)
        self.body.update(client_order_id=order_data.client_order_id, symbol=order_data.symbol)
        return Order(**self.body)

    def get_order_by_client_id(self, client_id: str) -> Order:
        self.body.update(self.then)
        return Order(**self.body)

    def cancel_order_by_id(self, order_id: str) -> None:
        self.cancelled.append(order_id)
        self.then = {"status": "canceled"}


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> list[FakeTradingClient]:
    monkeypatch.setenv("ALPACA_API_KEY", "PKTESTKEY")
    monkeypatch.setenv("ALPACA_SECRET_KEY", "test-secret")
    made: list[FakeTradingClient] = []

    def fake_client(**credentials: Any) -> Any:
        made.append(FakeTradingClient(dict(FakeTradingClient.next_then), **credentials))
        return made[-1]

    def factory(*, environ: Mapping[str, str], **options: Any) -> Broker:
        return open_alpaca(environ=environ, client_factory=fake_client, **options)

    monkeypatch.setitem(BROKER_FACTORIES, "alpaca", factory)
    return made


def test_test_order_fills_and_reports_the_round_trip(
    clients: list[FakeTradingClient], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["broker", "test-order", "--interval", "0"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (client,) = clients
    assert client.credentials == {
        "api_key": "PKTESTKEY",
        "secret_key": "test-secret",
        "paper": True,
    }
    (sent,) = client.submitted
    assert (sent.symbol, sent.qty, sent.side, sent.type) == ("SPY", 1, "buy", "market")
    assert "statuses    accepted -> filled" in out
    assert "fill        1 SPY @ 471.2300" in out
    assert "broker      alpaca" in out and f"order       {sent.client_order_id} " in out
    assert "test-secret" not in out + err


def test_test_order_json_and_cancel_at_timeout(
    clients: list[FakeTradingClient],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(FakeTradingClient, "next_then", {"status": "new"})
    code = main(
        ["broker", "test-order", "--symbol", "AAPL", "--qty", "2", "--timeout", "0", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    payload = json.loads(out)
    assert payload["symbol"] == "AAPL" and payload["qty"] == 2
    assert payload["statuses"] == ["accepted", "canceled"] and payload["canceled_by_us"]
    assert payload["fill_price"] is None
    assert clients[0].cancelled == ["61e69015-8549-4bfd-b9c3-01e75843f47d"]


def test_missing_keys_exit_2_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (
        "ALPACA_API_KEY",
        "ALPACA_SECRET_KEY",
        "ALPACA_API_KEY_ID",
        "ALPACA_API_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env with keys here
    code = main(["broker", "test-order"])
    assert code == 2
    assert "ALPACA_API_KEY and ALPACA_SECRET_KEY" in capsys.readouterr().err


def test_live_endpoint_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broker", "test-order", "--broker", "alpaca-live"]) == 2
    assert "paper brokers only" in capsys.readouterr().err


def test_paper_test_order_runs_offline_and_is_refused_by_the_paper_rule(
    capsys: pytest.CaptureFixture[str], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The paper broker books only fills the daily step planned; a hand-typed order is
    # rejected (live/paper.py), with nothing stored, and the round trip says so.
    monkeypatch.delenv("HARVESTER_DATABASE_URL", raising=False)
    code = main(["broker", "test-order", "--broker", "paper", "--interval", "0", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    payload = json.loads(out)
    assert payload["broker"] == "paper"
    assert payload["statuses"] == ["rejected"] and payload["fill_price"] is None
    assert any("no engine fill planned" in note for note in payload["notes"])
    assert (isolated_home / "harvester.db").is_file()  # the store it opened, in the home
    store = open_store(None, environ={"HARVESTER_HOME": str(isolated_home)})
    try:
        assert account_fills(store, account="paper").empty
        assert order_by_client_id(store, payload["client_order_id"]) is None
    finally:
        store.close()


def test_paper_broker_is_in_the_registry(isolated_home: Path) -> None:
    store = open_store(None, environ={"HARVESTER_HOME": str(isolated_home)})
    try:
        broker = open_broker("paper", environ={}, store=store, account="acct")
        assert isinstance(broker, PaperBroker) and broker.account_name == "acct"
        assert broker.account().cash == 100_000.0
    finally:
        store.close()
