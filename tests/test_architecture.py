"""The structure docs/architecture.md promises, held by tests."""

import ast
import io
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
APPS = {"core", "results", "querygen", "datagen", "migrations_gate", "crashtest"}
# Pure packages: libraries usable from a script, no Django.
PURE_PACKAGES = [
    "dbkinds",
    "results/importers",
    "querygen/engine",
    "datagen/generator",
    "migrations_gate/runner",
    "crashtest/harness",
]
# Modules that take a request, a task or a command line: they parse, call a service or a
# selector, and shape the answer (docs/architecture.md, "Inside an app").
ENTRY_POINTS = re.compile(r"^(views|api|admin|tasks)(\.py$|/)|^management/commands/")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from pkg import module` imports pkg.module
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
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
            # A driver runs in a project's own environment, under its migration tool (the
            # gate's drivers/, Django's included), importing nothing of Assay's but protocol.py
            driver = path.parent.name == "drivers"
            for name in _imports(path):
                top = name.split(".")[0]
                if driver:
                    assert top not in APPS | {"dbkinds"}, f"{path}: {name}"
                    continue
                assert top not in {"django", "rest_framework", "django_q"}, f"{path}: {name}"
                assert top not in APPS or name.startswith(folder.replace("/", ".")), (
                    f"{path} imports {name}"
                )
    assert checked, "results/importers at least must exist"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_models_hold_data_only():
    """Models import no workflow: no services, selectors, tasks or the job runner."""
    for app in APPS:
        for path in [ROOT / app / "models.py", *(ROOT / app / "models").glob("*.py")]:
            if not path.exists():
                continue
            for name in _imports(path):
                parts = name.split(".")
                assert not {"services", "selectors", "tasks", "jobs", "registry"} & set(parts), (
                    f"{path.relative_to(ROOT)} imports {name}: register handlers in tasks.py"
                )


def test_entry_points_use_no_models_of_another_app():
    for app in APPS:
        for path in _python_files(app):
            inside = path.relative_to(ROOT / app).as_posix()
            if not ENTRY_POINTS.match(inside):
                continue
            for name in _imports(path):
                parts = name.split(".")
                if len(parts) > 1 and parts[0] in APPS - {app} and parts[1] == "models":
                    raise AssertionError(
                        f"{app}/{inside} imports {name}: go through that app's services or "
                        "selectors"
                    )


def test_no_import_cycles():
    """Modules of the project import each other in one direction only (lazy imports count)."""
    modules = {
        _module_name(p): p
        for top in [*APPS, "dbkinds", "config"]
        if (ROOT / top).exists()
        for p in _python_files(top)
    }
    graph = defaultdict(set)
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(modules):
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def test_jobs_and_schedules_are_registered_in_tasks_modules_only():
    def calls(path: Path) -> set[str]:
        return {
            node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
        }

    for app in APPS:
        for path in _python_files(app):
            called = calls(path)
            if {"register_job", "register_schedule"} & called:
                assert path.name == "tasks.py", f"{path}: register jobs in the app's tasks.py"
            if "connect" in called and "post_migrate" in path.read_text():
                assert path == ROOT / "core" / "apps.py", (
                    f"{path}: schedules are created by core.registry.sync_schedules"
                )


def test_database_catalogs_are_read_in_dbkinds_only():
    """Listing a database's tables and columns is a fact of its kind: written once, in
    dbkinds/<kind>.py, and used by datagen, querygen and what comes next."""
    catalog = re.compile(r"sqlite_master|information_schema\.|pg_catalog\.|duckdb_tables\(")
    for top in [*APPS, "benchmarks", "scripts"]:
        for path in _python_files(top):
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                if catalog.search(line) and not line.lstrip().startswith("#"):
                    raise AssertionError(f"{path.relative_to(ROOT)}:{n} reads a catalog: {line}")
    kinds = sorted(p.stem for p in (ROOT / "dbkinds").glob("*.py") if not p.stem.startswith("_"))
    assert {"sqlite", "duckdb", "postgresql"} <= set(kinds), kinds


# Test files that test no single module: cross-app flows in a browser, and the suite's own
# structure and plugins.
NOT_MIRRORED = {"tests/browser", "tests/test_architecture.py", "tests/test_postgres_plugin.py"}


def test_tests_mirror_the_tree():
    """tests/<dir>/test_<name>.py tests <dir>/<name>.py, the package <dir>/<name>/ or a tool's
    config file <dir>/<name>.conf.py (config/gunicorn.conf.py)."""
    strays = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        rel = path.relative_to(ROOT / "tests")
        if any(str(path.relative_to(ROOT)).startswith(x) for x in NOT_MIRRORED):
            continue
        target = ROOT / rel.parent / rel.name.removeprefix("test_")
        conf = target.with_suffix(".conf.py")
        if not (target.exists() or target.with_suffix("").is_dir() or conf.exists()):
            strays.append(str(path.relative_to(ROOT)))
    assert strays == [], f"test files that mirror no module: {strays}"
