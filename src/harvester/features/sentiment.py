"""News and social sentiment: text scorers and causal daily per-symbol aggregates.

A scorer maps texts to scores in [-1, 1] (negative to positive). Three implement the
:class:`SentimentScorer` port:

- :class:`VaderScorer`: the VADER lexicon's compound score (``vaderSentiment``, offline).
- :class:`FinBertScorer`: a FinBERT-style classifier loaded from a *local* transformers
  model directory (never downloaded); score = p(positive) - p(negative).
- :class:`FakeScorer`: a lookup table, for tests of code built on scorers.

Empty text (``None``, ``""`` or only whitespace) scores NaN, not 0: "nothing said" is not
"neutral", and :func:`daily_sentiment` leaves such items out of its means and counts.

:func:`daily_sentiment` turns time-stamped items into one row per session date: an item
published before the cutoff (the close, 16:00 New York by default) counts for that day's
session, one published at or after it for the next session. The row for date ``d``
therefore uses only items published before ``d``'s close.

:func:`with_sentiment` attaches that table to a :class:`~harvester.data.panel.Panel` as two
fields: ``sentiment`` (the day's mean score, NaN on a session without news) and
``news_count`` (the number of scored items, 0 without news), so a strategy can tell "no
news" from "neutral news".
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel

__all__ = [
    "BaseScorer",
    "FakeScorer",
    "FinBertScorer",
    "SentimentScorer",
    "VaderScorer",
    "daily_sentiment",
    "session_dates",
    "with_sentiment",
]

logger = logging.getLogger(__name__)


class SentimentScorer(Protocol):
    """Port: score texts in [-1, 1]; NaN for empty text."""

    def score(self, texts: Sequence[str | None]) -> FloatArray:
        """Return one score per text, in [-1, 1], NaN where the text is empty."""
        ...


class BaseScorer:
    """Template for scorers: :meth:`score` handles empty text and checks the output.

    Subclasses implement ``_score_texts(texts)`` on non-empty strings only.
    """

    def score(self, texts: Sequence[str | None]) -> FloatArray:
        """Return one score per text, in [-1, 1], NaN where the text is empty or ``None``."""
        out = np.full(len(texts), np.nan)
        keep = [i for i, text in enumerate(texts) if text is not None and text.strip() != ""]
        if keep:
            values = np.asarray(self._score_texts([str(texts[i]) for i in keep]), dtype=float)
            if values.shape != (len(keep),) or np.any(np.abs(values) > 1.0):
                raise DataError(
                    f"{type(self).__name__} returned {values.shape} scores for {len(keep)} "
                    "texts or a score outside [-1, 1]; expected one score in [-1, 1] per text"
                )
            out[keep] = values
        return out

    def _score_texts(self, texts: list[str]) -> FloatArray:
        raise NotImplementedError


class VaderScorer(BaseScorer):
    """VADER compound score (Hutto & Gilbert 2014), a social-media lexicon; works offline.

    Known limits: a general-purpose lexicon, not a financial one. "Company files for
    bankruptcy" scores 0 (no lexicon word) and "Profit warning: shares fall sharply" scores
    positive ("profit" outweighs "warning"). See docs/sentiment.md for measured accuracy.
    """

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
                SentimentIntensityAnalyzer,
            )
        except ImportError as exc:
            raise ConfigError(
                "VaderScorer needs the vaderSentiment package: pip install vaderSentiment"
            ) from exc
        self._analyzer: Any = SentimentIntensityAnalyzer()

    def _score_texts(self, texts: list[str]) -> FloatArray:
        scores = [self._analyzer.polarity_scores(text)["compound"] for text in texts]
        return np.asarray(scores, dtype=float)


class FinBertScorer(BaseScorer):
    """A local sequence classifier (e.g. ProsusAI/finbert); score = p(positive) - p(negative).

    Parameters
    ----------
    model_path
        Directory holding a transformers model and tokenizer (``save_pretrained`` output).
        Nothing is downloaded: loading uses ``local_files_only=True``.
    batch_size
        Texts per forward pass.

    Raises
    ------
    ConfigError
        When transformers or torch is not installed, the directory is missing, or the model
        has no "positive" and "negative" labels.
    """

    def __init__(self, model_path: str | Path | None, *, batch_size: int = 32) -> None:
        transformers, self._torch = _import_transformers()
        path = _model_directory(model_path)
        try:
            self._tokenizer: Any = transformers.AutoTokenizer.from_pretrained(
                path, local_files_only=True
            )
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                path, local_files_only=True
            )
        except OSError as exc:
            raise ConfigError(
                f"no transformers model could be loaded from {path}: {exc}; "
                "expected a directory written by save_pretrained"
            ) from exc
        self._model: Any = model.eval()
        self._positive, self._negative = _label_indices(model.config.id2label, path)
        self._batch_size = batch_size

    def _score_texts(self, texts: list[str]) -> FloatArray:
        out = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            encoded = self._tokenizer(
                batch, padding=True, truncation=True, max_length=512, return_tensors="pt"
            )
            with self._torch.no_grad():
                probs = self._model(**encoded).logits.softmax(dim=-1).numpy()
            out.append(probs[:, self._positive] - probs[:, self._negative])
        return np.concatenate(out).astype(float)


def _import_transformers() -> tuple[Any, Any]:
    import importlib

    try:
        return importlib.import_module("transformers"), importlib.import_module("torch")
    except ImportError as exc:
        raise ConfigError(
            f"FinBertScorer needs transformers and torch ({exc.name} is missing): "
            "pip install transformers torch, or use VaderScorer"
        ) from exc


def _model_directory(model_path: str | Path | None) -> Path:
    if model_path is None or not Path(model_path).is_dir():
        raise ConfigError(
            f"FinBertScorer model_path {model_path!r} is not a directory; expected a local "
            "model saved with save_pretrained (e.g. ProsusAI/finbert copied to this machine)"
        )
    return Path(model_path)


def _label_indices(id2label: Mapping[int, str], path: Path) -> tuple[int, int]:
    index = {label.lower(): int(i) for i, label in id2label.items()}
    if "positive" not in index or "negative" not in index:
        raise ConfigError(
            f"model at {path} has labels {sorted(index)}; expected 'positive' and 'negative'"
        )
    return index["positive"], index["negative"]


class FakeScorer(BaseScorer):
    """Score by table lookup: ``scores[text]``, else ``default``. For tests."""

    def __init__(self, scores: Mapping[str, float], *, default: float = 0.0) -> None:
        self._scores = dict(scores)
        self._default = default

    def _score_texts(self, texts: list[str]) -> FloatArray:
        return np.asarray([self._scores.get(t, self._default) for t in texts], dtype=float)


def session_dates(
    timestamps: pd.Series,
    *,
    timezone: str = "America/New_York",
    cutoff: str = "16:00",
    sessions: pd.DatetimeIndex | None = None,
) -> pd.Series:
    """Return the session date each timestamp counts for (tz-naive midnight; NaT if none).

    A timestamp before ``cutoff`` (wall clock in ``timezone``) counts for its own local
    date, one at or after it for the next day; the date then rolls forward to the first
    session on or after it: ``sessions`` when given (items after the last one get NaT),
    else the next weekday (holidays are not known then).

    Raises
    ------
    DataError
        When the timestamps are not timezone-aware datetimes.
    ConfigError
        When ``timezone`` or ``cutoff`` cannot be parsed.
    """
    if not isinstance(timestamps.dtype, pd.DatetimeTZDtype):
        raise DataError(
            f"timestamps have dtype {timestamps.dtype}; expected timezone-aware datetimes; "
            "fix: pd.to_datetime(column, utc=True) or .dt.tz_localize(<source timezone>)"
        )
    wall = timestamps.dt.tz_convert(_zone(timezone)).dt.tz_localize(None)
    day = wall.dt.normalize()
    late = (wall - day) >= _cutoff_delta(cutoff)
    effective = day + pd.to_timedelta(late.astype(int), unit="D")
    if sessions is None:
        days = effective.to_numpy().astype("datetime64[D]")
        rolled = np.busday_offset(days, 0, roll="forward")
        return pd.Series(rolled.astype("datetime64[ns]"), index=timestamps.index)
    calendar = pd.DatetimeIndex(sessions).normalize()
    position = calendar.searchsorted(effective.to_numpy(), side="left")
    found = calendar[np.minimum(position, len(calendar) - 1)] if len(calendar) else effective
    result = pd.Series(np.asarray(found, dtype="datetime64[ns]"), index=timestamps.index)
    return result.where(position < len(calendar))


def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"timezone {timezone!r} is unknown; expected an IANA name like 'America/New_York'"
        ) from exc


def _cutoff_delta(cutoff: str) -> pd.Timedelta:
    try:
        clock = dt.time.fromisoformat(cutoff)
    except ValueError as exc:
        raise ConfigError(f"cutoff {cutoff!r} is not a time; expected 'HH:MM'") from exc
    return pd.Timedelta(hours=clock.hour, minutes=clock.minute, seconds=clock.second)


def daily_sentiment(
    items: pd.DataFrame,
    *,
    scorer: SentimentScorer,
    timezone: str = "America/New_York",
    cutoff: str = "16:00",
    sessions: pd.DatetimeIndex | None = None,
    text_columns: Sequence[str] = ("headline", "summary"),
) -> pd.DataFrame:
    """Aggregate item scores to one row per session date and symbol, causally.

    Parameters
    ----------
    items
        One row per news item or post: ``timestamp`` (timezone-aware), ``symbol`` (one
        ticker) or ``symbols`` (a list, or a comma-separated string; the item counts for
        each), and the ``text_columns`` that are present (joined with a space per row).
    scorer
        Any :class:`SentimentScorer`.
    timezone, cutoff, sessions
        How a timestamp maps to a session date; see :func:`session_dates`.
    text_columns
        Columns holding text; at least one must be present.

    Returns
    -------
    DataFrame
        Index: session date (``date``, tz-naive), only dates with at least one scored item.
        Columns: a (field, symbol) MultiIndex with fields ``mean`` (mean score, NaN where
        the symbol had no scored item that day) and ``count`` (number of scored items).
        ``frame["mean"]`` is a date × symbol panel.
    """
    symbol_column = _symbol_column(items)
    present = [c for c in text_columns if c in items.columns]
    if "timestamp" not in items.columns or not present:
        raise DataError(
            f"items have columns {list(items.columns)}; expected 'timestamp' and at least one "
            f"of {list(text_columns)}"
        )
    if items.empty:
        return _widen(pd.DataFrame({"date": [], "symbol": [], "score": []}))
    scores = scorer.score(_joined_texts(items, present))
    long = pd.DataFrame(
        {
            "date": session_dates(
                items["timestamp"], timezone=timezone, cutoff=cutoff, sessions=sessions
            ).to_numpy(),
            "symbol": [_symbol_list(value) for value in items[symbol_column]],
            "score": scores,
        }
    )
    long = long.explode("symbol").dropna(subset=["date", "symbol", "score"])
    logger.debug("scored %d of %d items", len(long), len(items))
    return _widen(long)


def _symbol_column(items: pd.DataFrame) -> str:
    for name in ("symbols", "symbol"):
        if name in items.columns:
            return name
    raise DataError(
        f"items have columns {list(items.columns)}; expected a 'symbol' or 'symbols' column"
    )


def _joined_texts(items: pd.DataFrame, columns: Sequence[str]) -> list[str | None]:
    rows = zip(*(items[c].tolist() for c in columns), strict=True)
    joined = [" ".join(p.strip() for p in row if isinstance(p, str) and p.strip()) for row in rows]
    return [text or None for text in joined]


def _symbol_list(value: object) -> list[str]:
    if isinstance(value, str):
        parts: Iterable[object] = value.split(",")
    elif isinstance(value, Iterable):
        parts = value
    else:
        return []
    return [p.strip() for p in parts if isinstance(p, str) and p.strip()]


def _widen(long: pd.DataFrame) -> pd.DataFrame:
    if long.empty:
        columns = pd.MultiIndex.from_arrays([[], []], names=[None, "symbol"])
        index = pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
        return pd.DataFrame(index=index, columns=columns, dtype=float)
    grouped = long.groupby(["date", "symbol"])["score"]
    stats = pd.DataFrame({"mean": grouped.mean(), "count": grouped.count()})
    wide = stats.unstack("symbol")
    wide.index = pd.DatetimeIndex(wide.index, name="date")
    counts = wide.loc[:, ["count"]].fillna(0).astype("int64")
    return pd.concat([wide.loc[:, ["mean"]].astype(float), counts], axis=1)


def with_sentiment(
    panel: Panel,
    daily: pd.DataFrame,
    *,
    field: str = "sentiment",
    count_field: str = "news_count",
) -> Panel:
    """Return ``panel`` with the daily sentiment table as two (time × symbols) fields.

    Parameters
    ----------
    panel
        The panel to extend; its dates and symbols fix the grid.
    daily
        The output of :func:`daily_sentiment` (``mean`` and ``count`` per date and symbol).
        Pass ``sessions=panel.index`` to it for an exact date join.
    field, count_field
        Names of the new fields.

    Returns
    -------
    Panel
        A copy with ``field``: the mean score of the items counted for the session, NaN on
        a session without a scored item (no news is not neutral news); and ``count_field``:
        the number of scored items, 0.0 without news.

    Notes
    -----
    Causal: a date of ``daily`` that is not a panel session (a holiday, a weekend for a
    weekday-only panel) counts for the next session, never an earlier one; several such
    dates are pooled (the mean weighted by the counts). Dates before the first session or
    after the last are dropped, as are symbols the panel does not have.

    Raises
    ------
    DataError
        When ``daily`` lacks the ``mean`` or ``count`` columns.

    Examples
    --------
    >>> from harvester.testing import SyntheticParams, generate_market
    >>> panel = generate_market(SyntheticParams(symbols=2, years=1, seed=1)).panel
    >>> items = pd.DataFrame({
    ...     "timestamp": pd.to_datetime(["2010-01-04 09:00"]).tz_localize("America/New_York"),
    ...     "symbol": [panel.symbols[0]], "headline": ["up"]})
    >>> daily = daily_sentiment(items, scorer=FakeScorer({"up": 0.5}), sessions=panel.index)
    >>> out = with_sentiment(panel, daily)
    >>> out.array("sentiment")[:2, 0].tolist(), out.array("news_count")[:2, 0].tolist()
    ([0.5, nan], [1.0, 0.0])
    """
    names = set(daily.columns.get_level_values(0)) if daily.columns.nlevels == 2 else set()
    if daily.columns.nlevels == 2 and daily.columns.empty:  # No scored item at all.
        nothing = np.zeros(panel.shape)
        return panel.with_fields(**{field: np.full(panel.shape, np.nan), count_field: nothing})
    if not {"mean", "count"} <= names:
        raise DataError(
            f"sentiment table has columns {list(daily.columns)[:6]}; expected the output of "
            "daily_sentiment (a ('mean' | 'count', symbol) column MultiIndex)"
        )
    symbols = list(panel.symbols)
    means = _level(daily, "mean").reindex(columns=symbols).to_numpy(np.float64)
    counts = _level(daily, "count").reindex(columns=symbols).fillna(0).to_numpy(np.float64)
    dates = pd.DatetimeIndex(daily.index).as_unit("ns")
    # Each date counts for the first session on or after it.
    position = panel.index.searchsorted(dates, side="left")
    first = panel.index[0] if len(panel.index) else pd.Timestamp.max
    inside = np.asarray((position < len(panel.index)) & (dates >= first), dtype=bool)
    rows = position[inside]
    total = np.zeros(panel.shape)
    count = np.zeros(panel.shape)
    weighted = np.where(counts > 0, np.nan_to_num(means) * counts, 0.0)
    np.add.at(total, rows, weighted[inside])
    np.add.at(count, rows, counts[inside])
    mean = np.divide(total, count, out=np.full(panel.shape, np.nan), where=count > 0)
    return panel.with_fields(**{field: mean, count_field: count})


def _level(daily: pd.DataFrame, name: str) -> pd.DataFrame:
    part = daily.loc[:, name]
    return part if isinstance(part, pd.DataFrame) else part.to_frame()
