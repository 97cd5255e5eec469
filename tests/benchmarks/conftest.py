"""The benchmarks must not rot: their tests run each script small (`make bench` has the figures)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def load_benchmark(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """load_benchmark("results_ui.py"): benchmarks/results_ui.py loaded as a module; what it
    does to sys.modules and sys.path is undone after the test."""

    def load(name: str) -> ModuleType:
        path = ROOT / "benchmarks" / name
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
        monkeypatch.setattr(sys, "path", list(sys.path))  # scripts add their folder or the root
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def run_benchmark(load_benchmark, django_db_blocker, capsys) -> Callable[..., str]:
    """run_benchmark("results_ui.py", *argv): runs the script's main(argv), which must succeed,
    and returns what it printed."""

    def run(name: str, *argv: str) -> str:
        module = load_benchmark(name)
        # The script points Django at its own temporary database and puts ours back after.
        with django_db_blocker.unblock():
            assert module.main(list(argv)) == 0
        return capsys.readouterr().out

    return run
