"""Schemathesis against a live playground (daphne, a Celery worker, Redis, the test database), with all its
checks: no generated request, valid or not, gets a server error, an undocumented status or a body the schema
does not describe; schema-invalid requests are refused; headers, methods and content types are as documented.

One check is left out for the two operations that take a puzzle body, and why: `positive_data_acceptance`
expects every schema-valid body to be accepted, but a submitted Sudoku must also keep the rules with exactly
one solution, a maze or ARC grid needs rows of equal length and (a maze) one S and one G, a Sudoku whose
solutions take too long to count is refused by the check too, and no JSON body may hold an integer of over
20 digits (a hostile-input limit of the parser, even in fields the API ignores). JSON Schema cannot say
that; the API answers such bodies 400 with the reason (puzzles/api/schemas.py says what the schemas state
and what they cannot). Every other operation must accept every request its schema allows.

The stack's rate limits and unfinished-job limit are lifted, and its jobs go to a queue no worker
consumes: thousands of generated jobs must not run.
"""

import os

import pytest
import schemathesis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import PROJECT_DIR, UNCONSUMED_QUEUE
from tests.stack import Stack, database_url_for_subprocess, flush_redis, private_redis_url

pytestmark = pytest.mark.stack

PUZZLE_RULES_BEYOND_THE_SCHEMA = {"POST /api/v1/jobs/", "POST /api/v1/sudoku/check/"}


@pytest.fixture(scope="module")
def live_stack(django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    own_redis = private_redis_url(redis_url, 3)
    flush_redis(own_redis)
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=django_settings.SECRET_KEY,
               DATABASE_URL=database_url, REDIS_URL=own_redis, TRM_DEVICE="cpu", TRM_SOLVE_QUEUE=UNCONSUMED_QUEUE,
               TRM_SUBMIT_RATE_ANON="10000000/min", TRM_SUBMIT_RATE_USER="10000000/min",
               TRM_MAX_ACTIVE_JOBS="10000000", TRM_PRELOAD_CHECKPOINTS="0")
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path_factory.mktemp("schemathesis-stack")) as running:
        yield running
    flush_redis(own_redis)


def cases() -> list:
    """(operation, generation mode) for every documented operation, read from the schema the code generates (no
    server needed to list them): valid requests for each, invalid ones for each that takes any input."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    found = []
    for path, methods in paths.items():
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            found.append(pytest.param(label, GenerationMode.POSITIVE, id=f"{label} valid"))
            if operation.get("parameters") or operation.get("requestBody"):
                found.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"{label} invalid"))
    return found


@pytest.mark.parametrize(("label", "mode"), cases())
def test_every_answer_is_the_schemas_and_no_request_gets_a_server_error(live_stack, active_checkpoints, label, mode):
    operation = schemathesis.openapi.from_url(live_stack.base_url + "/api/v1/schema/?format=json").find_operation_by_label(label)

    excluded = [positive_data_acceptance] if label in PUZZLE_RULES_BEYOND_THE_SCHEMA else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def every_case_answers_as_documented(case):
        case.call_and_validate(excluded_checks=excluded)

    every_case_answers_as_documented()
