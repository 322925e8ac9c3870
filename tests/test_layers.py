"""The apps are layered (docs/guide.en.md, Architecture): each imports only the apps listed before it.

A higher app that must contribute to a lower one's work registers a provider with it instead of
being imported by it; `config/` sits above every app and no app imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["core", "org", "catalog", "notify", "customers", "actions", "todos", "field", "analytics", "imports", "demo"]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function, type-only imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_app_is_listed_in_the_layers() -> None:
    apps = {p.name for p in (ROOT / "salestrace").iterdir() if (p / "apps.py").exists()}
    assert apps == set(LAYERS)


def test_no_app_imports_an_app_above_it_or_config() -> None:
    # given every module of every app, tests and migrations aside
    wrong = []
    for app in LAYERS:
        for path in (ROOT / "salestrace" / app).rglob("*.py"):
            if {"tests", "migrations"} & set(path.parts):
                continue
            # when we read what it imports
            for module in _imports(path):
                parts = module.split(".")
                if parts[0] == "config" and module != "config.env":
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
                above = parts[0] == "salestrace" and len(parts) > 1 and parts[1] in LAYERS[LAYERS.index(app) + 1 :]
                if above:
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    # then nothing reaches up
    assert wrong == []
