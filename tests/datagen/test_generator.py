"""datagen/generator/__init__.py: the package's names, each loaded from its module when used."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_name_resolves_and_only_its_use_loads_numpy() -> None:
    """A fresh process: importing the package loads none of numpy, pyarrow or duckdb (the site's
    start-up imports it); each name of __all__ then resolves, and dir() lists them all."""
    code = (
        "import sys\n"
        "import datagen.generator as g\n"
        "heavy = ('numpy', 'pyarrow', 'duckdb')\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "print([n for n in g.__all__ if getattr(g, n, None) is None])\n"
        "print(dir(g) == sorted(g.__all__))\n"
        "from datagen.generator import *\n"
        "print(sorted(set(g.__all__) - set(globals())))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    loaded, unresolved, listed, missing = (ast.literal_eval(line) for line in out)
    assert loaded == []
    assert unresolved == []
    assert listed
    assert missing == []
