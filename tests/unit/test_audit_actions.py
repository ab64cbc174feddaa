"""Audit action names come from one enum, core.audit.Action: every write names a member,
a name that is not one is refused, and each has words on the audit page."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime

import pytest

from core import audit
from tests.unit.test_architecture import MODULES, top

WRITERS = {"record", "append"}


def action_arguments():
    """Every `action` given to audit.record/append, and the "action" of every dict literal
    of an entry's arguments (passed on with **), in the product's modules."""
    for name, path in MODULES.items():
        if top(name) == "tests":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WRITERS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        yield name, node.lineno, keyword.value
            elif isinstance(node, ast.Dict):
                keys = {k.value: v for k, v in zip(node.keys, node.values, strict=True)
                        if isinstance(k, ast.Constant)}  # fmt: skip
                if "action" in keys and "object_type" in keys:  # an entry's arguments
                    yield name, node.lineno, keys["action"]


def names_an_action(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Attribute) and n.attr == "Action")
        or (isinstance(n, ast.Name) and n.id == "Action")
        for n in ast.walk(node)
    )


def test_every_action_written_is_a_member_of_the_enum():
    found = list(action_arguments())
    assert len(found) >= 30, found  # the writes are found at all
    loose = [
        f"{name}:{line}"
        for name, line, value in found
        if not names_an_action(value)
        and not isinstance(value, ast.Attribute | ast.Name)
        and not isinstance(value, ast.Constant)  # (OpenAPI's {"action": "string"} too)
    ]
    literals = [
        f"{name}:{line} {value.value!r}"
        for name, line, value in found
        if isinstance(value, ast.Constant) and re.fullmatch(r"[a-z_]+\.[a-z_]+", str(value.value))
    ]
    assert not literals, literals
    assert not loose, loose


def test_a_name_outside_the_enum_is_refused():
    with pytest.raises(ValueError, match="not a valid Action"):
        audit._values(None, "pass.approved_twice", "pass", 1, None, datetime.now(UTC))
    assert audit._values(None, "pass.approve", "pass", 1, None, datetime.now(UTC))["action"] == (
        "pass.approve"
    )


@pytest.mark.parametrize("action", list(audit.Action))
def test_every_action_has_words_on_the_audit_page(action):
    from supervision.audit_names import action_words

    assert action_words(action.value) != action.value
