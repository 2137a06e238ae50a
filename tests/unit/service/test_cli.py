"""``harvester metrics``: the table from the store, and a clear error for a dead --url."""

from __future__ import annotations

import socket

import pytest
from tests.unit.service.conftest import seed

from harvester.cli.main import main
from harvester.store import Store


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_metrics_computed_from_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store)
    monkeypatch.setenv("HARVESTER_DATABASE_URL", store.engine.url.render_as_string(False))
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    equity = next(line for line in out.splitlines() if "harvester_equity_total" in line)
    assert "1,045" in equity
    assert "partial_ladder" in out


def test_metrics_from_a_dead_url_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["metrics", "--url", f"http://127.0.0.1:{port}"]) != 0
    assert f"cannot read http://127.0.0.1:{port}/metrics" in capsys.readouterr().err
