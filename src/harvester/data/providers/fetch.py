"""Fetch daily bars for many symbols: cache first, then providers in order, concurrently.

For each symbol:

1. a fresh cache entry (fetched within ``cache_ttl_hours`` for a range covering the request)
   of any configured provider is used and no request is made;
2. otherwise the providers are tried in the order given (``make_providers`` builds them in
   ``ProviderConfig.order``: yfinance, then Alpha Vantage); each attempt that fails
   with a ``TransientError`` (network, HTTP 429 / 5xx, rate-limit payload) is retried up to
   ``max_retries`` times after ``backoff_seconds * 2**attempt`` seconds, or after the
   server's ``Retry-After`` when it sent one (capped at a minute); a ``DataError`` moves on
   to the next provider at once, and a refused key (HTTP 401 / 403) also stops asking that
   provider for the other symbols of the run;
3. a download is written to the cache; a symbol no provider could serve is served from
   a stale cache entry when there is one (offline, or every provider failing: the bars
   from ``start`` that the cache holds, listed in ``FetchResult.stale`` with the reason the
   fetch failed), and otherwise lands in ``FetchResult.failures`` with the last reason,
   on one line.

A caller that reaches the fetch through another layer (the data loader) can see what each
fetch served with :func:`collect_fetch_results`.

At most ``max_concurrency`` symbol downloads run at once, and each provider's requests are
paced by its own token bucket at ``requests_per_second``. Clock, sleep and HTTP transport are
injectable, so tests run instantly, offline, and can assert the pacing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx
import pandas as pd

from harvester.config.models import ProviderConfig
from harvester.core.errors import ConfigError, DataError, TransientError
from harvester.data.cache import ParquetCache
from harvester.data.panel import Panel
from harvester.data.providers.base import MarketDataProvider, RetryLater, one_line
from harvester.data.providers.ratelimit import Sleep, TokenBucket

# Called with (symbols done, symbols to download); the CLI draws a progress bar with it.
Progress = Callable[[int, int], None]

__all__ = ["FetchResult", "collect_fetch_results", "fetch_daily_bars", "fetch_daily_bars_sync"]

logger = logging.getLogger(__name__)

_MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch produced, per symbol.

    Attributes
    ----------
    frames
        Bars of every symbol that was served, in the order asked.
    failures
        One-line reason for every symbol no provider could serve.
    sources
        Name of the provider whose bars were used, per served symbol.
    cached
        Symbols served from the cache without a request.
    stale
        Symbols served from a cache entry older than ``cache_ttl_hours`` because every
        provider failed, with the one-line reason of the last failure.
    """

    frames: Mapping[str, pd.DataFrame]
    failures: Mapping[str, str]
    sources: Mapping[str, str]
    cached: frozenset[str] = field(default_factory=frozenset)
    stale: Mapping[str, str] = field(default_factory=dict)

    def to_panel(self) -> Panel:
        """Return the served symbols as a Panel (raises DataError when none was served)."""
        return Panel.from_frames(self.frames)


_RESULTS: ContextVar[list[FetchResult] | None] = ContextVar("fetch_results", default=None)


@contextmanager
def collect_fetch_results() -> Iterator[list[FetchResult]]:
    """Collect the :class:`FetchResult` of every fetch made inside the ``with`` block (in
    this thread or context), for callers that reach the fetch through the loader::

        with collect_fetch_results() as results:
            loaded = load(spec, ctx)
        stale = {s: why for r in results for s, why in r.stale.items()}
    """
    results: list[FetchResult] = []
    token = _RESULTS.set(results)
    try:
        yield results
    finally:
        _RESULTS.reset(token)


@dataclass(frozen=True, slots=True)
class _Outcome:
    symbol: str
    frame: pd.DataFrame | None = None
    source: str = ""
    reason: str = ""
    stale: bool = False


@dataclass(frozen=True, slots=True)
class _Run:
    providers: tuple[MarketDataProvider, ...]
    clients: Mapping[str, httpx.AsyncClient]
    config: ProviderConfig
    cache: ParquetCache
    now: Callable[[], datetime]
    sleep: Sleep
    slots: asyncio.Semaphore
    progress: Progress | None = None
    # Providers that refused our keys in this run, with the reason: not asked again.
    refused: dict[str, str] = field(default_factory=dict)


class _PacedTransport(httpx.AsyncBaseTransport):
    """Takes a token from the provider's bucket before each request; never closes ``inner``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, limiter: TokenBucket) -> None:
        self._inner = inner
        self._limiter = limiter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._limiter.acquire()
        return await self._inner.handle_async_request(request)


async def fetch_daily_bars(
    symbols: Iterable[str],
    start: date,
    end: date,
    *,
    providers: Sequence[MarketDataProvider],
    config: ProviderConfig,
    cache: ParquetCache,
    now: Callable[[], datetime],
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
) -> FetchResult:
    """Return daily bars for ``symbols`` from ``start`` to ``end`` inclusive.

    Parameters
    ----------
    symbols
        Tickers as the providers spell them; duplicates are fetched once.
    start, end
        Inclusive range of session dates.
    providers
        Adapters to try, in this order (``make_providers(config.order, secrets)``).
    config
        Concurrency, rate limit, retries, timeout and cache lifetime.
    cache
        Where fresh bars are looked up first and downloads are written.
    now
        Wall clock (time-zone aware) for cache freshness and fetch stamps.
    transport
        HTTP transport (``httpx.MockTransport`` in tests); a real one when None.
    sleep, monotonic
        Awaitable sleep and monotonic clock for backoff and pacing.
    progress
        Called with (symbols done, symbols to download) after each download ends.

    Raises
    ------
    ConfigError
        ``start`` is after ``end``, or no provider (or one twice) is given.
    ValueError
        ``now()`` returns a naive datetime.
    """
    _check_arguments(start, end, providers=providers, now=now)
    ordered = tuple(providers)
    wanted = list(dict.fromkeys(symbols))
    hits = _cache_hits(wanted, start, end, providers=ordered, config=config, cache=cache, now=now)
    missing = [s for s in wanted if s not in hits]
    downloads: list[_Outcome] = []
    if missing:
        async with _open_clients(
            ordered, config=config, transport=transport, monotonic=monotonic, sleep=sleep
        ) as clients:
            slots = asyncio.Semaphore(config.max_concurrency)
            run = _Run(ordered, clients, config, cache, now, sleep, slots, progress)
            downloads = await _download_all(run, missing, start, end)
    result = _assemble(wanted, hits, downloads)
    _log_summary(result, requested=len(wanted))
    collected = _RESULTS.get()
    if collected is not None:
        collected.append(result)
    return result


def fetch_daily_bars_sync(
    symbols: Iterable[str],
    start: date,
    end: date,
    *,
    providers: Sequence[MarketDataProvider],
    config: ProviderConfig,
    cache: ParquetCache,
    now: Callable[[], datetime],
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
) -> FetchResult:
    """Run ``fetch_daily_bars`` in a new event loop, for callers without one.

    Call it only where no event loop is running (a CLI command, a script); inside a
    coroutine ``await fetch_daily_bars(...)`` instead.
    """
    return asyncio.run(
        fetch_daily_bars(
            symbols,
            start,
            end,
            providers=providers,
            config=config,
            cache=cache,
            now=now,
            transport=transport,
            sleep=sleep,
            monotonic=monotonic,
            progress=progress,
        )
    )


def _check_arguments(
    start: date,
    end: date,
    *,
    providers: Sequence[MarketDataProvider],
    now: Callable[[], datetime],
) -> None:
    if start > end:
        raise ConfigError(f"start {start} is after end {end}; swap them")
    names = [p.name for p in providers]
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"need at least one provider, each once; got {names}")
    if now().tzinfo is None:
        raise ValueError("now() must return an aware datetime, e.g. lambda: datetime.now(UTC)")


def _cache_hits(
    symbols: Sequence[str],
    start: date,
    end: date,
    *,
    providers: Sequence[MarketDataProvider],
    config: ProviderConfig,
    cache: ParquetCache,
    now: Callable[[], datetime],
) -> dict[str, tuple[str, pd.DataFrame]]:
    max_age = timedelta(hours=config.cache_ttl_hours)
    at = now()
    hits: dict[str, tuple[str, pd.DataFrame]] = {}
    for symbol in symbols:
        for provider in providers:
            frame = cache.get(provider.name, symbol, max_age=max_age, now=at, start=start, end=end)
            if frame is not None and not frame.empty:
                hits[symbol] = (provider.name, frame)
                break
    return hits


@asynccontextmanager
async def _open_clients(
    providers: Sequence[MarketDataProvider],
    *,
    config: ProviderConfig,
    transport: httpx.AsyncBaseTransport | None,
    monotonic: Callable[[], float],
    sleep: Sleep,
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    # One client per provider, each paced by its own bucket, all on one inner transport.
    async with AsyncExitStack() as stack:
        inner: httpx.AsyncBaseTransport
        if transport is None:
            inner = await stack.enter_async_context(httpx.AsyncHTTPTransport())
        else:
            inner = transport
        clients: dict[str, httpx.AsyncClient] = {}
        for provider in providers:
            bucket = TokenBucket(config.requests_per_second, clock=monotonic, sleep=sleep)
            client = httpx.AsyncClient(
                transport=_PacedTransport(inner, limiter=bucket), timeout=config.timeout_seconds
            )
            clients[provider.name] = await stack.enter_async_context(client)
        yield clients


async def _download_all(
    run: _Run, symbols: Sequence[str], start: date, end: date
) -> list[_Outcome]:
    done = 0

    async def download_and_report(symbol: str) -> _Outcome:
        nonlocal done
        outcome = await _download(run, symbol, start, end)
        done += 1
        if run.progress is not None:
            run.progress(done, len(symbols))
        return outcome

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(download_and_report(s)) for s in symbols]
    return [task.result() for task in tasks]


async def _download(run: _Run, symbol: str, start: date, end: date) -> _Outcome:
    reason = "no provider was tried"
    for provider in run.providers:
        if provider.name in run.refused:
            reason = run.refused[provider.name]
            continue
        try:
            frame = await _fetch_with_retries(run, provider, symbol, start, end)
        except (DataError, TransientError, ConfigError) as e:
            reason = one_line(str(e))
            logger.warning("%s failed for %s: %s", provider.name, symbol, reason)
            if isinstance(e, ConfigError):
                run.refused[provider.name] = reason
            continue
        _store(run, provider.name, symbol, frame, start=start, end=end)
        return _Outcome(symbol, frame, provider.name)
    return _stale_outcome(run, symbol, start, end, reason) or _Outcome(symbol, reason=reason)


def _stale_outcome(run: _Run, symbol: str, start: date, end: date, reason: str) -> _Outcome | None:
    """The bars an expired cache entry holds for ``start``..``end``, when every provider
    failed: better than nothing, and reported as stale."""
    for provider in run.providers:
        frame = run.cache.get(provider.name, symbol, max_age=timedelta.max, now=run.now())
        if frame is None:
            continue
        frame = frame.loc[pd.Timestamp(start) : pd.Timestamp(end)]
        if frame.empty:
            continue
        logger.warning(
            "using stale cached bars of %s from %s (last bar %s): %s",
            symbol, provider.name, frame.index[-1].date(), reason,
        )  # fmt: skip
        return _Outcome(symbol, frame, provider.name, reason=reason, stale=True)
    return None


async def _fetch_with_retries(
    run: _Run, provider: MarketDataProvider, symbol: str, start: date, end: date
) -> pd.DataFrame:
    attempt = 0
    while True:
        try:
            async with run.slots:
                return await provider.fetch_daily(run.clients[provider.name], symbol, start, end)
        except TransientError as e:
            if attempt >= run.config.max_retries:
                raise TransientError(f"{e} (gave up after {attempt + 1} attempts)") from e
            delay_seconds = _retry_delay_seconds(e, attempt=attempt, run=run)
            logger.info("retrying %s for %s in %.3g s: %s", provider.name, symbol, delay_seconds, e)
            await run.sleep(delay_seconds)
            attempt += 1


def _retry_delay_seconds(error: TransientError, *, attempt: int, run: _Run) -> float:
    exponential = run.config.backoff_seconds * 2.0**attempt
    if not isinstance(error, RetryLater):
        return exponential
    if error.retry_after_seconds is not None:
        hint = error.retry_after_seconds
    elif error.retry_at is not None:
        hint = max(0.0, (error.retry_at - run.now()).total_seconds())
    else:
        return exponential
    return min(hint, _MAX_RETRY_AFTER_SECONDS)


def _store(
    run: _Run, provider: str, symbol: str, frame: pd.DataFrame, *, start: date, end: date
) -> None:
    try:
        run.cache.put(provider, symbol, frame, fetched_at=run.now(), start=start, end=end)
    except (OSError, DataError) as e:
        logger.warning("could not cache %s from %s: %s", symbol, provider, e)


def _assemble(
    symbols: Sequence[str],
    hits: Mapping[str, tuple[str, pd.DataFrame]],
    downloads: Sequence[_Outcome],
) -> FetchResult:
    served: dict[str, tuple[str, pd.DataFrame]] = {
        o.symbol: (o.source, o.frame) for o in downloads if o.frame is not None
    }
    served.update(hits)
    frames = {s: served[s][1] for s in symbols if s in served}
    sources = {s: served[s][0] for s in symbols if s in served}
    failures = {o.symbol: o.reason for o in downloads if o.frame is None}
    stale = {o.symbol: o.reason for o in downloads if o.stale and o.symbol not in hits}
    return FetchResult(frames, failures, sources, frozenset(hits), stale)


def _log_summary(result: FetchResult, *, requested: int) -> None:
    logger.info(
        "fetched daily bars for %d of %d symbols (%d from cache, %d failed)",
        len(result.frames),
        requested,
        len(result.cached),
        len(result.failures),
    )
