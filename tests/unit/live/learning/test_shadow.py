"""Ghost trades follow hand-made price paths; the outperform report waits for 30 trades."""

from __future__ import annotations

import logging

import pytest

from harvester.live.learning.hooks import Outcome, Snapshot
from harvester.live.learning.shadow import ShadowBook


def _entry(symbol: str = "AAPL") -> Snapshot:
    return Snapshot(symbol, 0, "entry", "X", 100.0)


def _exit(price: float, reason: str, symbol: str = "AAPL") -> Snapshot:
    return Snapshot(symbol, 1, "exit", "X", price, {}, Outcome(price - 100.0, reason, 60.0))


def _stats(book: ShadowBook, name: str) -> dict[str, float]:
    return book.report()["shadows"][name]  # type: ignore[no-any-return]


def test_ghost_levels_and_exits_on_a_price_path() -> None:
    book = ShadowBook()
    book.on_entry(_entry(), stop=98.0, target=104.0)  # stop distance 2, target distance 4
    levels = {g.variant: (g.stop, g.target) for g in book.open_ghosts("AAPL")}
    assert levels["tighter"] == pytest.approx((99.0, 103.0))  # 100 - 0.5*2, 100 + 0.75*4
    assert levels["wider"] == pytest.approx((97.0, 106.0))  # 100 - 1.5*2, 100 + 1.5*4
    assert levels["scalp"] == pytest.approx((99.0, 101.32))  # 100 - 0.5*2, 100 + 0.33*4
    book.on_price("AAPL", 101.5)  # scalp target: +1.5 %
    book.on_price("AAPL", 99.0)  # tighter stop: -1 %
    book.on_price("AAPL", 104.2)  # live target (wider's 106 not reached)
    book.on_exit(_exit(104.2, "target"))  # live +4.2 %; wider runs on to its own levels
    assert [g.variant for g in book.open_ghosts("AAPL")] == ["wider"]
    book.on_price("AAPL", 96.5)  # wider stop, filled at the print: -3.5 %
    assert book.open_ghosts("AAPL") == []
    expected = {"scalp": 1.5, "tighter": -1.0, "wider": -3.5}
    for name, ghost_pct in expected.items():
        stats = _stats(book, name)
        assert stats["trades"] == 1 and stats["live_total_pct"] == pytest.approx(4.2)
        assert stats["ghost_total_pct"] == pytest.approx(ghost_pct)
    assert book.report()["open_symbols"] == 0


def test_a_signal_exit_closes_the_open_ghosts_at_the_live_price() -> None:
    book = ShadowBook()
    book.on_entry(_entry(), stop=98.0, target=104.0)
    book.on_exit(_exit(100.5, "signal"))
    for name in ("tighter", "wider", "scalp"):
        assert _stats(book, name)["ghost_total_pct"] == pytest.approx(0.5)
    assert book.open_ghosts("AAPL") == []


def test_a_short_entry_mirrors_the_levels() -> None:
    book = ShadowBook()
    book.on_entry(_entry(), stop=102.0, target=96.0)
    levels = {g.variant: (g.stop, g.target) for g in book.open_ghosts("AAPL")}
    assert levels["wider"] == pytest.approx((103.0, 94.0))
    book.on_price("AAPL", 98.6)  # scalp target 100 - 0.33*4 = 98.68: +1.4 % on a short
    book.on_exit(_exit(99.0, "signal"))
    assert _stats(book, "scalp")["ghost_total_pct"] == pytest.approx(1.4)


def _scalp_round(book: ShadowBook) -> None:
    """Scalp takes +1.5 %; live (and the other two) exit on a signal at -0.5 %."""
    book.on_entry(_entry(), stop=98.0, target=104.0)
    book.on_price("AAPL", 101.5)
    book.on_exit(_exit(99.5, "signal"))


def test_the_outperform_report_appears_only_after_30_ghost_trades(
    caplog: pytest.LogCaptureFixture,
) -> None:
    book = ShadowBook()
    with caplog.at_level(logging.WARNING):
        for _ in range(29):
            _scalp_round(book)
        assert book.report()["outperforming"] == [] and caplog.records == []
        _scalp_round(book)
        report = book.report()
        assert report["outperforming"] == ["scalp"]
        scalp = report["shadows"]["scalp"]
        assert scalp["ghost_total_pct"] == pytest.approx(30 * 1.5)
        assert scalp["live_total_pct"] == pytest.approx(30 * -0.5)
        assert scalp["ghost_mean_pct"] == pytest.approx(1.5)
        _scalp_round(book)
    warnings = [r for r in caplog.records if "shadow 'scalp' beats live" in r.getMessage()]
    assert len(warnings) == 1
    assert report["shadows"]["tighter"]["outperforms"] is False  # equal to live is no win


def test_settled_ghosts_are_bounded() -> None:
    book = ShadowBook(keep=5)
    for _ in range(12):
        _scalp_round(book)
    assert _stats(book, "scalp")["trades"] == 5
    assert book.report()["open_symbols"] == 0
