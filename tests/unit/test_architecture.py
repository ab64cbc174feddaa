"""The architecture, as the tree shows it: packages by concern, dependencies one way.

operations -> supervision -> checkpoints -> passes -> fleet -> accounts -> trust, sms -> core
modules.
Within a package: views/api (the edge) -> services -> domain; domain modules import the
standard library only.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lower rank depends on nothing above it. trust/ and sms/ share a rank: neither knows the other.
RANK = {
    "operations": -1,
    "supervision": 0,
    "checkpoints": 1,
    "passes": 2,
    "fleet": 3,
    "accounts": 4,
    "trust": 5,
    "sms": 5,
}
# Beneath every package: plumbing each package may use, which uses no package.
CORE = {
    "api",
    "audit",
    "config",
    "db",
    "errors",
    "heartbeat",
    "i18n",
    "logs",
    "metrics",
    "privacy",
    "ratelimit",
    "tabular",
    "web",
    "words",
}
# Wiring at the top: may import anything, imported by nothing but each other.
WIRING = {"app", "commands", "demo", "models"}
# Modules that talk to Flask's requests, the command line or the browser's forms.
EDGE_NAMES = {"admin", "api", "cli", "context", "forms", "public", "views"}
PURE_ALLOWED = {"errors", "privacy"}  # stdlib-only themselves


def is_edge(module: str) -> bool:
    name = module.rsplit(".", 1)[-1]
    return name in EDGE_NAMES or name.endswith("_views")


def project_modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.glob("*.py"):
        if "." not in path.stem:  # gunicorn.conf.py is settings, not a module
            found[path.stem] = path
    for package in [*RANK, "api"]:
        for path in (ROOT / package).glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


MODULES = project_modules()
TOP_LEVEL = {name.split(".")[0] for name in MODULES}


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, by dotted name, including `from pkg import mod`."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in MODULES
            )
    return names


def project_imports(path: Path) -> set[str]:
    return {name for name in imports_of(path) if name.split(".")[0] in TOP_LEVEL}


def top(name: str) -> str:
    return name.split(".")[0]


def test_every_top_level_part_has_a_place_in_the_layers():
    unplaced = TOP_LEVEL - set(RANK) - CORE - WIRING
    assert not unplaced, f"place {sorted(unplaced)} in RANK, CORE or WIRING"


@pytest.mark.parametrize("package", sorted(RANK))
def test_packages_depend_only_downwards(package):
    wrong = []
    for name, path in MODULES.items():
        if top(name) != package:
            continue
        for target in project_imports(path):
            other = top(target)
            if other == package or other in CORE:
                continue
            if other not in RANK or RANK[other] <= RANK[package]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_core_modules_use_no_package():
    wrong = [
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if top(name) in CORE
        for target in project_imports(path)
        if top(target) not in CORE
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_wiring():
    wrong = [
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if top(name) not in WIRING
        for target in project_imports(path)
        if top(target) in WIRING
    ]
    assert not wrong, "\n".join(wrong)


def test_domain_modules_import_only_the_standard_library():
    domains = [name for name in MODULES if name.endswith(".domain")]
    assert len(domains) >= 5, domains
    for name in domains:
        foreign = {
            target
            for target in imports_of(MODULES[name])
            if top(target) not in sys.stdlib_module_names
            and top(target) not in PURE_ALLOWED
            and target != "__future__"
        }
        assert not foreign, f"{name} imports {sorted(foreign)}"
    for name in PURE_ALLOWED:
        assert all(top(t) in sys.stdlib_module_names for t in imports_of(MODULES[name])), name


def test_only_the_edge_imports_the_edge():
    """views/api -> services -> domain: nothing below the edge reaches up into it, and no
    package reaches into another's pages or endpoints (app.py wires them all); forms
    (labels, the CSRF-only action form) are shared between edges."""
    wrong = []
    for name, path in MODULES.items():
        if top(name) in WIRING:
            continue
        for target in project_imports(path):
            if target not in MODULES or not is_edge(target) or top(target) in CORE:
                continue
            shared = target.endswith(".forms")  # labels and the CSRF-only action form
            if not is_edge(name) or (top(target) != top(name) and not shared):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_services_do_not_import_flask():
    services = [name for name in MODULES if name.endswith(".services")]
    assert len(services) >= 4, services
    for name in services:
        assert "flask" not in {top(t) for t in imports_of(MODULES[name])}, name


@pytest.mark.parametrize("package", ["trust", "sms"])
def test_trust_and_sms_know_nothing_of_flask_requests(package):
    """Only their edge (the webhook, the trust endpoint, the CLI, the app's settings)
    touches Flask; keys, tokens, QR, outbox, providers and templates run anywhere."""
    wrong = [
        name
        for name, path in MODULES.items()
        if top(name) == package
        and not is_edge(name)
        and {top(t) for t in imports_of(path)} & {"flask", "flask_login", "flask_babel", "web"}
    ]
    assert not wrong, wrong
