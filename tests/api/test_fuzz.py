"""Property-based fuzzing of every operation in /openapi.json with Schemathesis, in-process over ASGI.

Valid and invalid requests generated from the schema (examples, boundary values and random data) must never
get a 5xx, and every answer must match what the schema declares: a documented status, the declared content
type, and a body of the declared shape (ErrorResponse for errors). Bounded: FUZZ_EXAMPLES cases per operation
in the fuzzing phase plus the examples and coverage phases, well under a minute on two cores.
"""

from __future__ import annotations

import os

import schemathesis  # the 'test' extra; a missing fuzzer is a failure, not a skip
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.main import create_app

FUZZ_EXAMPLES = int(os.environ.get("DIGIT_LAB_FUZZ_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,  # zero 5xx
    status_code_conformance,  # every status is one the schema documents for that route
    content_type_conformance,  # JSON where JSON is declared
    response_schema_conformance,  # the body matches the declared model (Prediction, ErrorResponse, ...)
    negative_data_rejection,  # a request that breaks the schema is refused with a 4xx, never served
]


# The schema comes from the app object itself (building it loads no model); requests go to the session's app,
# which holds the already-loaded models. (Schemathesis's lazy fixture loader does not run on pytest 9.)
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
schema.config.generation.update(max_examples=FUZZ_EXAMPLES, deterministic=True)


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_5xx_and_every_answer_matches_the_schema(case, client) -> None:
    case.call_and_validate(app=client.app, checks=CHECKS)
