"""Schemathesis against /api/v1/openapi.json, in-process: every operation, called as a role
it allows, with generated valid and invalid input. No 500, invalid input is refused with a
4xx, and every response (status, content type, body) matches the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from accounts.domain import Role
from api.core import REGISTRY
from tests.support import api_token


@pytest.fixture
def api_schema(app, client, make):
    home = make.enterprise()
    make.pass_(enterprise=home, status="approved")
    users = {r.value: make.user(r.value) for r in Role if r not in (Role.ENTERPRISE, Role.OFFICER)}
    users["officer"] = make.officer(make.checkpoint("gate"))
    users["enterprise"] = make.enterprise_user(home)
    app.extensions["fuzz_tokens"] = {
        role: api_token(client, user.username) for role, user in users.items()
    }
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


# Schema-valid input may still break a domain rule the schema cannot say (a credit code's
# check character, a phone needed when SMS is on), so "valid data is accepted" is left out.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


def headers_for(app, operation):
    path = operation.path.removeprefix("/api/v1")
    for doc in REGISTRY:
        rule = doc.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        if rule == path and doc.method == operation.method.upper() and doc.roles:
            return app.extensions["fuzz_tokens"][sorted(doc.roles)[0]]
    return {}


def test_every_operation_conforms(api_schema, app):
    tried = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/auth/logout"):
            continue  # would end the token the other examples use
        headers = headers_for(app, operation)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)  # noqa: B023

        conforms()
        tried.append(f"{operation.method.upper()} {operation.path}")
    assert len(tried) > 40, tried
