"""docs/api.md is the contract as the app serves it: its list of operations is exactly the
OpenAPI document's, and its list of commands exactly the command line's."""

from __future__ import annotations

import re
from pathlib import Path

import click

DOC = (Path(__file__).resolve().parents[2] / "docs/api.md").read_text(encoding="utf-8")


def test_the_operations_listed_are_the_ones_served(client):
    served = {
        (method.upper(), path)
        for path, methods in client.get("/api/v1/openapi.json").get_json()["paths"].items()
        for method in methods
    }
    listed = set(re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`]*)` \|", DOC, re.M))
    assert len(served) > 50, served
    assert sorted(served - listed) == [], "served but not in docs/api.md"
    assert sorted(listed - served) == [], "in docs/api.md but not served"


def test_the_commands_listed_are_the_ones_the_cli_has(app):
    def leaves(command: click.Command, name: str) -> set[str]:
        if isinstance(command, click.Group):
            return {
                found for sub, c in command.commands.items() for found in leaves(c, f"{name} {sub}")
            }
        return {name.strip()}

    have = {found for name, c in app.cli.commands.items() for found in leaves(c, name)}
    listed = set(re.findall(r"^\| `([a-z][a-z -]+)` \| ", DOC, re.M))
    assert have == listed
