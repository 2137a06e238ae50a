"""The web dashboard end to end: the real service (uvicorn on a loopback port) in headless Chromium.

The store is the service tests' hand-made seed (``harvester.testing.service_seed``): four
equity days, positions AAPL and MSFT, 14 closed trades (3 AAPL, 1 MSFT, 10 SPY). Selenium
drives Debian's ``chromium`` through the system ``chromedriver``. On a machine without them the
test is skipped with the reason; with ``HARVESTER_REQUIRE_SERVICES=1`` (CI) it fails instead,
as the PostgreSQL/Redis tests do. The screenshot is written to the test's tmp dir.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harvester.service import ServiceState, create_app
from harvester.store import open_store
from harvester.testing.service_seed import no_network, seed, serve_in_thread, settings_for
from harvester.testing.services import REQUIRE_ENV, services_required

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WAIT_SECONDS = 20.0


def _browser_missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} not found (apt-get install {package})"
    if importlib.util.find_spec("selenium") is None:
        return "selenium not installed (pip install -e '.[dev]')"
    return None


def _require_browser() -> None:
    reason = _browser_missing()
    if reason is None:
        return
    if services_required():
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 forbids skipping the browser test")
    pytest.skip(reason)


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """The service over the seeded store, served by uvicorn in a thread on an ephemeral port."""
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", environ={})
    seed(store)
    state = ServiceState(
        settings_for(store), http=httpx.Client(transport=httpx.MockTransport(no_network))
    )
    try:
        with serve_in_thread(create_app(state)) as url:
            yield url
    finally:
        store.close()


@pytest.fixture
def driver() -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1800"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield browser
    finally:
        browser.quit()


def _network_problems(performance_log: list[dict[str, Any]]) -> list[str]:
    """HTTP errors (status ≥ 400) and failed loads in Chromium's DevTools network log."""
    problems = []
    for entry in performance_log:
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.responseReceived":
            response = params["response"]
            if response["status"] >= 400:
                problems.append(f"{response['status']} {response['url']}")
        elif message["method"] == "Network.loadingFailed":
            problems.append(f"failed: {params.get('errorText')}")
    return problems


def _rows(browser: Any, table_id: str) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    rows = browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows[1:]]


def _column(browser: Any, table_id: str, label: str) -> list[str]:
    from selenium.webdriver.common.by import By

    header = [th.text for th in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} th")]
    index = header.index(label)
    return [row[index] for row in _rows(browser, table_id)]


def test_dashboard_renders_the_seeded_store_and_filters(
    base_url: str, driver: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(driver, WAIT_SECONDS)
    driver.get(base_url + "/")
    # refresh() ends with the journal loaded and the status line set from /health.
    wait.until(ec.text_to_be_present_in_element((By.ID, "trade-count"), "14 trade(s)"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "ok"))

    path = driver.find_element(By.CSS_SELECTOR, "#equity-chart svg path.series")
    d = path.get_attribute("d") or ""
    assert d.startswith("M") and d.count("L") == 3  # four equity days: a move and three lines
    assert driver.find_elements(By.CSS_SELECTOR, "#drawdown-chart svg path")

    assert sorted(_column(driver, "positions", "symbol")) == ["AAPL", "MSFT"]
    symbols = _column(driver, "trades", "symbol")
    assert sorted(set(symbols)) == ["AAPL", "MSFT", "SPY"]
    assert (symbols.count("AAPL"), symbols.count("MSFT"), symbols.count("SPY")) == (3, 1, 10)

    Select(driver.find_element(By.ID, "f-symbol")).select_by_value("AAPL")
    wait.until(ec.text_to_be_present_in_element((By.ID, "trade-count"), "3 trade(s)"))
    assert _column(driver, "trades", "symbol") == ["AAPL"] * 3
    # newest exit first: the seed's AAPL exits are Jan 3, Jan 6 and Jan 9
    assert _column(driver, "trades", "exit") == ["2024-01-09", "2024-01-06", "2024-01-03"]

    shot = tmp_path / "dashboard.png"
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == PNG_MAGIC
    print(f"screenshot: {shot}")

    console = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert console == []
    assert _network_problems(driver.get_log("performance")) == []


def test_a_missing_chromium_skips_on_a_user_machine_and_fails_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(globals(), "CHROMIUM", tmp_path / "no-chromium")
    assert _browser_missing() == f"{tmp_path / 'no-chromium'} not found (apt-get install chromium)"
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        _require_browser()
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="forbids skipping the browser test"):
        _require_browser()
