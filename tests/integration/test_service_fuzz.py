"""Fuzz the service's API with schemathesis against its own OpenAPI description: no 5xx.

The app runs in-process (ASGI, no network) over a SQLite store seeded by hand (the seed of
``harvester.testing.service_seed``). Generated inputs come from ``/openapi.json``; every
response must be below 500 (``not_a_server_error``). Derandomized and capped so it stays short.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from harvester.service import ServiceState, create_app
from harvester.store import open_store
from harvester.testing.service_seed import no_network, seed, settings_for

EXAMPLES = 50  # per operation and mode: 8 × 2 × 50 calls, a few seconds


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'store.db'}", environ={})
    seed(store)
    state = ServiceState(
        settings_for(store), http=httpx.Client(transport=httpx.MockTransport(no_network))
    )
    try:
        yield create_app(state)
    finally:
        state.close()
        store.close()


def _fuzz(schema: schemathesis.BaseSchema, mode: schemathesis.GenerationMode) -> int:
    """Call the app with generated cases of every operation; the number of operations fuzzed."""
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)  # the app's own schema parses without errors

    skipped = 0
    for operation in operations:  # each its own budget, simplest inputs (0, "") first

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: schemathesis.Case[Any]) -> None:
            response = case.call()
            assert response.status_code < 500, (case.path, case.query, response.text[:300])
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:  # no parameters to make invalid (negative mode): nothing to send
            skipped += 1
    return len(operations) - skipped


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=str)
def test_no_server_error_for_generated_inputs(
    fuzzed_app: FastAPI, mode: schemathesis.GenerationMode
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    # /health /metrics /report /recommendations and the four /api/* endpoints; only
    # /api/trades has parameters that can be made invalid
    expected = 8 if mode is schemathesis.GenerationMode.POSITIVE else 1
    assert _fuzz(schema, mode) == expected


def test_the_fuzzer_finds_a_server_error() -> None:
    app = FastAPI()

    @app.get("/root")
    def root(n: int) -> dict[str, float]:
        return {"root": math.sqrt(n)}  # n < 0: ValueError, a 500

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with pytest.raises(ValueError, match="math domain error"):  # raised in-process, not a 500
        _fuzz(schema, schemathesis.GenerationMode.POSITIVE)
