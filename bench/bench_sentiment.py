"""Benchmark: VADER's accuracy on labelled financial text, and its scoring throughput.

Reads ``../shared/data/text`` (skips with a message when absent):

- Twitter financial news sentiment, valid split (MIT; 0=bearish, 1=bullish, 2=neutral);
- Financial PhraseBank, 50%-agreement and all-agree subsets (CC BY-NC-SA 3.0: measured
  here, never shipped).

The compound score maps to three classes with VADER's own thresholds: positive when
``compound >= 0.05``, negative when ``compound <= -0.05``, neutral otherwise. Prints accuracy,
macro-F1 (unweighted mean of the per-class F1) and, for scale, the accuracy of always
answering the majority class; then texts scored per second on one thread.

Run: ``python bench/bench_sentiment.py [--data-dir ../shared/data/text]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import machine_line, versions_line
from harvester.core.types import FloatArray, IntArray
from harvester.features.sentiment import VaderScorer

THRESHOLD = 0.05
NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "text"


def to_classes(compound: FloatArray, threshold: float = THRESHOLD) -> IntArray:
    """Map compound scores to NEGATIVE / NEUTRAL / POSITIVE; NaN (empty text) is neutral."""
    classes = np.full(compound.shape, NEUTRAL, dtype=np.int64)
    classes[compound >= threshold] = POSITIVE
    classes[compound <= -threshold] = NEGATIVE
    return classes


def macro_f1(truth: IntArray, predicted: IntArray) -> float:
    """Unweighted mean over the three classes of 2·TP / (2·TP + FP + FN)."""
    scores = []
    for label in (NEGATIVE, NEUTRAL, POSITIVE):
        tp = np.sum((predicted == label) & (truth == label))
        wrong = np.sum((predicted == label) != (truth == label))
        scores.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(scores))


def datasets(directory: Path) -> dict[str, tuple[list[str], IntArray]]:
    """Texts and labels (NEGATIVE / NEUTRAL / POSITIVE) of each labelled set."""
    twitter = pd.read_csv(directory / "twitter_financial_news_sentiment_valid.csv")
    fifty = pd.read_csv(directory / "financial_phrasebank_50agree.csv")
    every = pd.read_csv(directory / "financial_phrasebank_allagree.csv")
    twitter_map = {0: NEGATIVE, 1: POSITIVE, 2: NEUTRAL}
    fifty_map = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}
    return {
        "Twitter financial news (valid)": (
            twitter["text"].tolist(),
            twitter["label"].map(twitter_map).to_numpy(np.int64),
        ),
        "Financial PhraseBank 50% agree": (
            fifty["news"].tolist(),
            fifty["label"].map(fifty_map).to_numpy(np.int64),
        ),
        "Financial PhraseBank all agree": (
            every["sentence"].tolist(),
            every["label"].to_numpy(np.int64),  # Already 0=negative, 1=neutral, 2=positive.
        ),
    }


def main() -> None:
    """Print accuracy, macro-F1 and throughput of VADER on the shared labelled text."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    if not (args.data_dir / "twitter_financial_news_sentiment_valid.csv").is_file():
        print(f"skipped: no labelled text under {args.data_dir} (see ../shared/data/README.md)")
        return
    print(machine_line())
    print(versions_line("numpy", "pandas", "vaderSentiment"))
    scorer = VaderScorer()
    print(f"VADER, 3 classes at compound >= {THRESHOLD} / <= -{THRESHOLD}")
    print(f"{'dataset':34} {'texts':>6} {'accuracy':>9} {'macro-F1':>9} {'majority':>9}")
    all_texts: list[str] = []
    for name, (texts, truth) in datasets(args.data_dir).items():
        predicted = to_classes(scorer.score(texts))
        accuracy = float(np.mean(predicted == truth))
        majority = float(np.bincount(truth).max() / truth.size)
        f1 = macro_f1(truth, predicted)
        print(f"{name:34} {len(texts):6d} {accuracy:9.3f} {f1:9.3f} {majority:9.3f}")
        all_texts.extend(texts)
    start = time.perf_counter()
    scorer.score(all_texts)
    seconds = time.perf_counter() - start
    rate = len(all_texts) / seconds
    print(f"throughput: {len(all_texts)} texts in {seconds:.2f} s = {rate:,.0f} texts/s (1 thread)")


if __name__ == "__main__":
    main()
