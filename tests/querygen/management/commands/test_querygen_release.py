"""manage.py querygen_release: a release's interpreter on stdout, progress on stderr, one line
per error."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from querygen.engine.releases import release_dir


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("querygen_release", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("duckdb", "is not PACKAGE==VERSION"),
        ("duckdb==", "is not PACKAGE==VERSION"),
        ("==0.9.2", "is not PACKAGE==VERSION"),
        ("duckdb==latest", "'latest' is not a release version"),
        ("duckdb>=0.9", "is not PACKAGE==VERSION"),
        ("duck db==0.9.2", "'duck db' is not a package name"),
        ("duckdb==0.9.2==1.0", "is not a release version"),
    ],
)
def test_bad_input_is_one_line(argument: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=message) as info:
        run(argument, "--cache-dir", str(tmp_path))
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_release_prints_its_interpreter() -> None:
    """duckdb 0.9.2 from the shared release cache (installed by the first run on a machine)."""
    out, err = run("duckdb==0.9.2")
    python = release_dir("duckdb", "0.9.2") / "bin" / "python"
    assert out == f"{python}\n"
    assert python.exists()
    assert "duckdb==0.9.2:" in err


def test_a_failed_install_is_one_line_after_pips_output(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"^pip install duckdb==0.0.1 failed") as info:
        run("duckdb==0.0.1", "--cache-dir", str(tmp_path))
    assert "\n" not in str(info.value)
