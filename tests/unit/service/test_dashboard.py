"""The web dashboard at ``/``: every asset it references is served here; nothing external."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from harvester.service import ServiceState, create_app

# The only absolute URL allowed in an asset: the SVG XML namespace, a name that is never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
API_PATHS = ("/api/equity", "/api/positions", "/api/signals", "/api/trades", "/report", "/health")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.refs.append(value)
            if name == "id" and value:
                self.ids.add(value)


@pytest.fixture
def client(state: ServiceState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        yield test_client


def _page(client: TestClient) -> tuple[str, _References]:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = _References()
    parser.feed(response.text)
    return response.text, parser


def test_every_referenced_asset_is_served_by_the_app(client: TestClient) -> None:
    _, refs = _page(client)
    assert sorted(refs.refs) == ["/static/app.js", "/static/style.css"]
    for ref in refs.refs:
        assert client.get(ref).status_code == 200


def test_no_external_url_anywhere(client: TestClient) -> None:
    html, refs = _page(client)
    texts = [html] + [client.get(ref).text for ref in refs.refs]
    for text in texts:
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text))
        assert urls <= {SVG_NAMESPACE}
        assert not re.search(r"""["'(]//""", text)  # no protocol-relative URL either


def test_the_script_reads_this_service_and_fills_the_page(client: TestClient) -> None:
    _, refs = _page(client)
    script = client.get("/static/app.js").text
    for path in API_PATHS:
        assert f'"{path}' in script
        assert client.get(path).status_code == 200
    used_ids = set(re.findall(r'getElementById\("([\w-]+)"\)', script))
    assert used_ids <= refs.ids, used_ids - refs.ids  # every element the script fills exists
    assert {
        "equity-chart",
        "drawdown-chart",
        "positions",
        "signals",
        "watchlist",
        "trades",
        "analytics",
        "recommendations",
        "f-symbol",
        "f-regime",
        "f-exit",
    } <= used_ids
