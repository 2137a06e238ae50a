"""Conviction: +1 per win, -2 per losing stop, multiplier 1 + score/10 clipped to 0.5-1.5."""

from __future__ import annotations

import pytest

from harvester.live.learning.conviction import Conviction
from harvester.live.learning.hooks import Outcome

WIN = Outcome(1.2, "target", 60.0)
STOP = Outcome(-1.0, "stop", 60.0)
FLAT = Outcome(-0.3, "signal", 60.0)
TRAILED = Outcome(0.4, "stop", 60.0)  # a trailing stop in profit is a win


def test_a_sequence_of_outcomes_gives_the_hand_computed_multipliers() -> None:
    conviction = Conviction()
    seen = []
    for outcome in (WIN, WIN, STOP, FLAT, TRAILED):  # rewards +1 +1 -2 0 +1
        conviction.record("X", outcome)
        seen.append(conviction.multiplier("X"))
    assert seen == pytest.approx([1.1, 1.2, 1.0, 1.0, 1.1])
    assert conviction.multiplier("unseen") == 1.0


def test_the_multiplier_is_clipped_to_half_and_one_and_a_half() -> None:
    conviction = Conviction()
    for _ in range(6):
        conviction.record("hot", WIN)  # score 6: 1.6 -> 1.5
    for _ in range(3):
        conviction.record("cold", STOP)  # score -6: 0.4 -> 0.5
    assert conviction.multiplier("hot") == 1.5 and conviction.multiplier("cold") == 0.5
    assert conviction.score("hot") == 6 and conviction.score("cold") == -6


def test_only_the_window_counts() -> None:
    conviction = Conviction(window=3)
    for outcome in (STOP, STOP, STOP, WIN):  # window keeps -2 -2 +1
        conviction.record("X", outcome)
    assert conviction.score("X") == -3
    assert conviction.multiplier("X") == pytest.approx(0.7)
