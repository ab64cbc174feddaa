"""Print the product's outside surface as JSON: the OpenAPI document, the URL map and the
command line's commands with their options. Two trees that print the same have the same
contract (a move of code must leave it alone): diff the output of both."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402


def command_tree(command: click.Command, name: str) -> dict[str, Any]:
    tree: dict[str, Any] = {
        "name": name,
        "help": (command.help or "").strip(),
        "params": [
            {
                "name": p.name,
                "opts": sorted(p.opts),
                "required": p.required,
                "multiple": getattr(p, "multiple", False),
                "is_flag": getattr(p, "is_flag", False),
            }
            for p in command.params
        ],
    }
    if isinstance(command, click.Group):
        tree["commands"] = [
            command_tree(sub, sub_name) for sub_name, sub in sorted(command.commands.items())
        ]
    return tree


def surface() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": instance,
                "DATABASE_URL": f"sqlite:///{instance}/surface.db",
                "SECRET_KEY": "surface",
                "AUDIT_SEQUENCER": "off",
            }
        )
        openapi = app.test_client().get("/api/v1/openapi.json").get_json()
        urls = sorted(
            [rule.rule, rule.endpoint, sorted(rule.methods or ())]
            for rule in app.url_map.iter_rules()
        )
        cli = [command_tree(c, n) for n, c in sorted(app.cli.commands.items())]
        app.extensions["engine"].dispose()
    return {"openapi": openapi, "url_map": urls, "cli": cli}


if __name__ == "__main__":
    print(json.dumps(surface(), ensure_ascii=False, indent=1, sort_keys=True))
