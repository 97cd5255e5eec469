"""The structure DESIGN.md promises, held by tests."""

import ast
import io
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
APPS = {"core", "results", "querygen", "datagen", "migrations_gate"}
# Pure packages: libraries usable from a script, no Django.
PURE_PACKAGES = [
    "results/importers",
    "querygen/engine",
    "datagen/generator",
    "migrations_gate/runner",
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _python_files(folder: str):
    return [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.django_db
def test_no_missing_migrations():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()} ({exc})")


def test_results_depends_on_no_other_app():
    for path in _python_files("results"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in APPS - {"results", "core"}, f"{path} imports {name}"


def test_apps_use_only_core_and_results_services():
    for app in APPS - {"core", "results"}:
        if not (ROOT / app).exists():
            continue
        for path in _python_files(app):
            for name in _imports(path):
                top = name.split(".")[0]
                if top == app or top not in APPS:
                    continue
                assert top == "core" or name.startswith("results.services"), (
                    f"{path} imports {name}: use core or results.services only"
                )


def test_core_depends_on_no_app():
    for path in _python_files("core"):
        for name in _imports(path):
            assert name.split(".")[0] not in APPS - {"core"}, f"{path} imports {name}"


def test_pure_packages_do_not_import_django():
    checked = 0
    for folder in PURE_PACKAGES:
        if not (ROOT / folder).exists():
            continue
        for path in _python_files(folder):
            checked += 1
            for name in _imports(path):
                top = name.split(".")[0]
                assert top not in {"django", "rest_framework", "django_q"}, f"{path}: {name}"
                assert top not in APPS or name.startswith(folder.replace("/", ".")), (
                    f"{path} imports {name}"
                )
    assert checked, "results/importers at least must exist"
