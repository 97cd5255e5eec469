"""dbkinds/base.py: the shape every kind module has, and the package staying light enough for
querygen's worker (standard library only until a driver is needed, Python 3.8 syntax)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import dbkinds
from dbkinds import base

PACKAGE = Path(dbkinds.__file__).parent
# Public functions only one kind has; anything else public must be in base.INTERFACE.
KIND_SPECIFIC = {"postgresql": {"conninfo", "conninfo_params"}}


def _public_functions(kind: str) -> dict[str, list[tuple[str, object, object]]]:
    """Name -> its parameters (name, kind, default): the annotations may name the driver."""
    module = dbkinds.get(kind)
    return {
        name: [(p.name, p.kind, p.default) for p in inspect.signature(value).parameters.values()]
        for name, value in vars(module).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }


def test_kinds_are_the_modules_of_the_package() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "base"}
    assert set(dbkinds.KINDS) == modules
    assert {"sqlite", "duckdb", "postgresql"} <= modules
    with pytest.raises(ValueError, match="unknown database kind 'oracle'"):
        dbkinds.get("oracle")


@pytest.mark.parametrize("kind", dbkinds.KINDS)
def test_every_kind_has_the_same_functions_with_the_same_signatures(kind: str) -> None:
    module = dbkinds.get(kind)
    missing = [name for name in base.INTERFACE if not hasattr(module, name)]
    assert missing == [], f"dbkinds.{kind} lacks {missing}"
    functions = _public_functions(kind)
    assert set(functions) - set(base.INTERFACE) == KIND_SPECIFIC.get(kind, set())
    reference = _public_functions("sqlite")
    for name in set(base.INTERFACE) & set(reference):
        assert functions[name] == reference[name], f"dbkinds.{kind}.{name}"
    assert isinstance(module.EMBEDDED, bool) and module.PARAM in ("?", "%s")


def test_importing_every_kind_imports_no_driver() -> None:
    """The worker's interpreter may have no pyarrow, Django or psycopg: importing dbkinds (and
    every kind module) must not pull them in."""
    code = (
        "import sys, dbkinds\n"
        "for kind in dbkinds.KINDS: dbkinds.get(kind)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = set(ast.literal_eval(out))
    assert not loaded & {"duckdb", "psycopg", "pyarrow", "numpy", "sqlglot", "django"}, loaded


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_modules_import_only_the_standard_library_at_the_top_in_python_3_8(path: Path) -> None:
    tree = ast.parse(path.read_text(), feature_version=(3, 8))  # SyntaxError past 3.8
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names | {"__future__", "dbkinds"}, name


def test_a_neutral_type_has_a_known_family() -> None:
    assert base.decimal(18, 4) == base.NeutralType("decimal", precision=18, scale=4)
    with pytest.raises(ValueError, match="unknown type family"):
        base.NeutralType("money")


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("numeric ( 12 , 3 )", base.decimal(12, 3)),
        ("DECIMAL(7)", base.decimal(7, 0)),
        ("character varying(30)", base.STRING),
        ("NCHAR", base.STRING),
        ("KNOWN", base.DATE_TYPE),
        ("unknown", None),
    ],
)
def test_parse_type(declared: str, expected: base.NeutralType | None) -> None:
    assert base.parse_type(declared, {"KNOWN": base.DATE_TYPE}) == expected
