"""Bad input on every endpoint of the migrated backend: 4xx, never a 5xx.

schemathesis generates requests from the app's own OpenAPI schema, for every operation, both ones that fit the
schema (positive) and ones that break it (negative), against the served app on its own database of the private
cluster (it writes and deletes freely there). The run is bounded and repeatable: a fixed number of examples per
operation and mode, derandomized (the same requests every run), no shrinking. Every 5xx (or request without
an answer) is collected with the request that caused it, and the test fails listing them all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from private_servers import PrivatePostgres, PrivateRedis
from schemathesis.generation import GenerationMode
from served_backend import ServedBackend, serve_on_private_cluster

logger = logging.getLogger(__name__)

# Per operation and generation mode: the run's length is bounded by operations x modes x this. A deeper run:
# AWAITIFY_FUZZ_EXAMPLES=50 (12 found every bug fixed so far; 6 keeps `make test` short).
EXAMPLES_PER_OPERATION = int(os.environ.get("AWAITIFY_FUZZ_EXAMPLES", "6"))
REQUEST_TIMEOUT_S = 15.0
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass(frozen=True)
class ServerError:
    operation: str
    mode: str
    status: int | None
    request: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.mode}] -> {self.status}: {self.request}"


@pytest.fixture(scope="module")
def fuzzed_app(
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
    migrated_backend_tree: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedBackend]:
    """The migrated app on a database of its own (`fuzz`): the fuzzing may delete anything there."""
    served = serve_on_private_cluster(
        private_postgres, private_redis, migrated_backend_tree, "fuzz", tmp_path_factory.mktemp("faults-fuzz")
    )
    try:
        yield served
    finally:
        served.stop()


def _describe(case: schemathesis.Case) -> str:
    return f"{case.method} {case.formatted_path} query={case.query!r} body={getattr(case, 'body', None)!r}"[:600]


def _fuzz_operation(
    operation: schemathesis.APIOperation, mode: GenerationMode, base_url: str, session: requests.Session
) -> list[ServerError]:
    errors: list[ServerError] = []
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case) -> None:
        try:
            response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:
            errors.append(ServerError(label, mode.value, None, f"{_describe(case)} ({type(exc).__name__})"))
            return
        if response.status_code >= 500:
            errors.append(ServerError(label, mode.value, response.status_code, _describe(case)))

    try:
        exercise()
    except Unsatisfiable:
        logger.info("%s: no %s case can be generated", label, mode.value)
    return errors


def test_bad_input_on_every_endpoint_gets_4xx_never_5xx(fuzzed_app: ServedBackend) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_app.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, f"the schema lists only {len(operations)} operations"
    with requests.Session() as session:  # keep-alive: one connection for the whole run
        errors = [
            error
            for operation in operations
            for mode in MODES
            for error in _fuzz_operation(operation, mode, fuzzed_app.base_url, session)
        ]
    assert fuzzed_app.is_alive(), f"the app died under bad input:\n{fuzzed_app.log_tail()}"
    listing = "\n".join(str(e) for e in errors[:40])
    assert not errors, f"{len(errors)} requests got a 5xx or no answer (first 40):\n{listing}"
    logger.info("faults: schemathesis, %d operations x %d modes x %d examples: no 5xx",
                   len(operations), len(MODES), EXAMPLES_PER_OPERATION)  # fmt: skip
