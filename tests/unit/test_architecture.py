"""Dependencies point inward: domain modules import the standard library only."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_PROJECT_MODULES = {"errors"}  # stdlib-only itself


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def domain_modules() -> list[Path]:
    found = sorted(ROOT.glob("*/domain.py"))
    assert found, "no domain modules found"
    return found


def test_domain_modules_import_only_the_standard_library():
    for path in [*domain_modules(), ROOT / "errors.py"]:
        foreign = {
            name
            for name in imported_modules(path)
            if name not in sys.stdlib_module_names
            and name not in ALLOWED_PROJECT_MODULES
            and name != "__future__"
        }
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


def test_services_do_not_import_flask():
    for path in sorted(ROOT.glob("*/services.py")):
        assert "flask" not in imported_modules(path), path
