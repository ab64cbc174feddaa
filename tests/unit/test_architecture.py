"""The architecture, as the tree shows it (docs/architecture.md): packages by concern,
dependencies one way.

operations -> supervision -> federation -> checkpoints -> passes -> fleet -> accounts -> trust,
sms -> api, core. Within a package: views/api (the edge) -> services -> domain; domain modules
import the standard library only. Only the web and CLI layers touch Flask's requests.
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
    "federation": 0.5,  # a peer's passes at our gates; what our gates saw, sent home
    "checkpoints": 1,
    "passes": 2,
    "fleet": 3,
    "accounts": 4,
    "trust": 5,
    "sms": 5,
}
# Beneath every package: plumbing each package may use, which uses no package (core/, and
# api/: the JSON API's blueprint, auth and OpenAPI registry).
CORE = {"core", "api"}
# Wiring at the top: may import anything, imported by nothing but each other.
WIRING = {"app", "commands", "demo", "demo_history", "models"}
# Modules that talk to Flask's requests, the command line or the browser's forms.
EDGE_NAMES = {"admin", "api", "cli", "context", "forms", "public", "views"}
PURE_ALLOWED = {"core.errors", "core.privacy"}  # stdlib-only themselves
# core's modules that serve a request (its session, its input, its files, its language).
REQUEST_PLUMBING = {"core.web", "core.inputs", "core.responses", "core.i18n"}


def is_edge(module: str) -> bool:
    name = module.rsplit(".", 1)[-1]
    return name in EDGE_NAMES or name.endswith("_views")


def project_modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.glob("*.py"):
        if "." not in path.stem:  # gunicorn.conf.py is settings, not a module
            found[path.stem] = path
    for package in [*RANK, *CORE]:
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
            and target not in PURE_ALLOWED
            and target != "core"  # `from core import errors` names both
            and target != "__future__"
        }
        assert not foreign, f"{name} imports {sorted(foreign)}"
    for name in PURE_ALLOWED:
        imported = imports_of(MODULES[name]) - {"__future__"}
        assert all(top(t) in sys.stdlib_module_names for t in imported), name


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


def is_web_or_cli(module: str) -> bool:
    return (
        is_edge(module)
        or top(module) in WIRING
        or top(module) == "api"
        or module in REQUEST_PLUMBING
    )


def test_only_the_web_and_cli_layers_import_flask():
    """Services, domains, models, stores and plumbing run without a request: they take
    their session, clock and settings as arguments (Flask-Babel's translations and
    Flask-Login's user mixin are not the request machinery)."""
    below = [name for name in MODULES if not is_web_or_cli(name)]
    assert len([n for n in below if n.endswith(".services")]) >= 4, below
    wrong = [
        f"{name} imports {target}"
        for name in below
        for target in imports_of(MODULES[name])
        if top(target) in {"flask", "flask_wtf"}
        or (top(target) == "werkzeug" and target != "werkzeug.security")  # hashing is not HTTP
        or target in REQUEST_PLUMBING
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", ["trust", "sms"])
def test_trust_and_sms_know_nothing_of_flask_requests(package):
    """Only their edge (the webhook, the trust endpoint, the CLI, the app's settings)
    touches Flask; keys, tokens, QR, outbox, providers and templates run anywhere."""
    wrong = [
        name
        for name, path in MODULES.items()
        if top(name) == package
        and not is_edge(name)
        and (
            {top(t) for t in imports_of(path)} & {"flask", "flask_login", "flask_babel"}
            or imports_of(path) & REQUEST_PLUMBING
        )
    ]
    assert not wrong, wrong


def product_files() -> list[Path]:
    """The product's own Python and JavaScript (not tests, migrations or vendored code)."""
    found = [path for path in MODULES.values() if path.parent.name != "tests"]
    found += sorted(p for p in (ROOT / "static/js").glob("*.js"))
    found += sorted((ROOT / "scripts").glob("*.py"))
    return found


def test_modules_are_small_enough_to_read_in_one_sitting():
    """None over 500 lines; none over 300 without saying at its top why."""
    long, unexplained = [], []
    for path in product_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > 500:
            long.append(f"{path.relative_to(ROOT)}: {len(lines)}")
        elif len(lines) > 300 and not any("Over 300 lines" in x for x in lines[:25]):
            unexplained.append(f"{path.relative_to(ROOT)}: {len(lines)}")
    assert not long, long
    assert not unexplained, unexplained
