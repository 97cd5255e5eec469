"""manage.py gate: datasets, projects and checks from a shell. A SQLite dataset of the example
shop end to end (registered, a project in a real git repository, its good and broken branches
checked in the foreground, a recheck, show), bad input as one line, and one registration from
a real PostgreSQL source."""

from __future__ import annotations

import io
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.models import Engine, JobState
from migrations_gate.models import Check, Dataset, Project
from migrations_gate.runner.steps import run_driver
from tests.migrations_gate.conftest import DRIVER_ARGV as DRIVER
from tests.migrations_gate.conftest import EXAMPLE, RULES, SOURCE_ORDERS


def gate(*args: str, out: io.StringIO | None = None, err: io.StringIO | None = None):
    out, err = out or io.StringIO(), err or io.StringIO()
    call_command("gate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str, match: str) -> str:
    """The command's error: one line, matching ``match``."""
    with pytest.raises(CommandError, match=match) as info:
        gate(*args)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def _first_migration(env: dict[str, str]) -> None:
    env = {**os.environ, **env}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    made = run_driver(DRIVER, env=env, cwd=EXAMPLE, deadline=time.monotonic() + 120,
                      stop_after=1)  # fmt: skip
    assert [s.status for s in made.steps] == ["ok"], made.tail


@pytest.fixture(scope="module")
def shop_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A production-like SQLite source: the shop at its first migration, with 50 customers
    (real-looking names and addresses) and 200 orders. Made once: registering only reads it."""
    db = tmp_path_factory.mktemp("source") / "shop-source.sqlite"
    _first_migration({"ASSAY_GATE_SQLITE": str(db)})
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "INSERT INTO shop_customer (name, email, joined) VALUES (?, ?, '2020-01-01')",
            [(f"Customer {i}", f"c{i}@real.example") for i in range(1, 51)],
        )
        conn.executemany(
            "INSERT INTO shop_order (customer_id, total, placed, quantity) "
            "VALUES (?, ?, '2021-01-01 00:00:00', ?)",
            [(1 + i % 50, i, i) for i in range(1, 201)],
        )
    return db


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


@pytest.mark.django_db
def test_a_sqlite_dataset_gates_the_shop_from_the_shell(shop_sqlite, shop_repo, rules, tmp_path):
    out, err = gate("dataset", "check-rules", "--rules", str(rules), "--sqlite", str(shop_sqlite))
    assert out.strip() == f"rules OK for {shop_sqlite}"
    out, err = gate("dataset", "add", "shop-local", "--rules", str(rules),
                    "--sqlite", str(shop_sqlite))  # fmt: skip
    dataset = Dataset.objects.get()
    assert dataset.tables["shop_customer"] == 50 and dataset.tables["shop_order"] == 200
    assert out.startswith(f"dataset shop-local (sqlite): {len(dataset.tables)} tables, ")
    assert " rows, " in out and "KiB" in out and f"from {shop_sqlite}" in out
    assert "shop_order" in out and "200 rows" in out and "shop 0001_initial" in out
    assert "shop-local: copying the source" in err  # progress, as it went
    with closing(sqlite3.connect(dataset.path)) as conn:  # the copy holds no real name
        names = [n for (n,) in conn.execute("SELECT name || email FROM shop_customer")]
    assert len(names) == 50 and not any("Customer" in n or "real.example" in n for n in names)
    listing, _ = gate("dataset", "list")
    assert "shop-local" in listing and "sqlite" in listing and str(shop_sqlite) in listing

    out, _ = gate("project", "add", "shop", "--repository", str(shop_repo), "--kind", "django",
                  "--target", "shopsite.settings", "--dataset", "shop-local")  # fmt: skip
    assert out.startswith(f"project shop (django, shopsite.settings) from {shop_repo}: datasets")
    listing, _ = gate("project", "list")
    assert "shop" in listing and "never" in listing and "shop-local" in listing

    out, err = gate("check", "shop", "main", "--wait")
    good = Check.objects.get()
    assert good.state == JobState.SUCCEEDED and good.outcome == "SUCCESS", good.datasets
    assert out.startswith(f"check {good.pk}: shop at main on 1 dataset\n")
    assert "**Migrations gate: SUCCESS** for shop at `main`" in out
    assert f"log: {good.log_dir / 'job.log'}" in out
    # The progress display: a line per migration as it ended
    assert "shop-local: shop.0002_note ok in " in err
    assert "shop-local: shop.0004_quantity_bigint ok in " in err

    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        gate("check", "shop", "broken", "--wait", "--no-progress", out=out)
    bad = Check.objects.get(ref="broken")
    assert str(info.value) == f"check {bad.pk}: FAILURE"
    assert "**Migrations gate: FAILURE** for shop at `broken`" in out.getvalue()
    assert "shop.0005_duplicate_total" in out.getvalue()

    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^check \d+: FAILURE$"):
        gate("recheck", str(bad.pk), "--wait", "--no-progress", out=out)
    again = Check.objects.get(recheck_of=bad)
    assert again.outcome == "FAILURE"
    assert out.getvalue().startswith(
        f"check {again.pk}: shop at broken on 1 dataset, a recheck of {bad.pk}\n"
    )

    shown, _ = gate("show", str(bad.pk))
    assert shown.startswith(f"check {bad.pk}: shop at broken ({bad.commit[:12]})\n")
    assert "state: succeeded, outcome: FAILURE, attempts 1/2" in shown
    assert bad.summary.strip() in shown and f"results run: {bad.results_run}" in shown
    assert f"log: {bad.log_dir / 'job.log'}" in shown
    assert f"shop-local: {bad.log_dir / 'shop-local.log'}" in shown
    assert (
        "=== end shop.0005_duplicate_total FAILED" in (bad.log_dir / "shop-local.log").read_text()
    )

    # A ref the repository does not have: the gate's error, at once
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^check \d+: INTERNAL_ERROR$"):
        gate("check", "shop", "no-such-branch", "--wait", "--no-progress", out=out)
    assert "no such ref no-such-branch" in out.getvalue()

    # Without --wait: queued for a worker, and how to follow it
    out, _ = gate("check", "shop", "main")
    queued = Check.objects.filter(state=JobState.QUEUED).get()
    assert f"queued; follow it with: manage.py gate show {queued.pk}" in out
    shown, _ = gate("show", str(queued.pk))
    assert "state: queued, outcome: -, attempts 0/2" in shown
    listing, _ = gate("project", "list")
    assert f"{queued.pk} main queued" in listing

    out, _ = gate("dataset", "remove", "shop-local")
    assert out.strip() == "removed dataset shop-local"
    assert not Path(dataset.path).exists() and not Dataset.objects.exists()
    assert list(Project.objects.get().datasets.all()) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, match",
    [
        (b"columns:\n  shop_customer.name: [name\n", r"not valid YAML at line \d+"),
        (b"columns:\n  shop_customer.name: name\n  shop_customer.em", r"not valid YAML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", r"is not UTF-8 text .*binary"),
        (b"columns:\n\x00  x.y: keep\n", r"is not text \(a NUL byte\)"),
        (b"", r"rules\.yaml is empty"),
        (b"  \n\n", r"rules\.yaml is empty"),
        (b"[1, 2]\n", r"must be a mapping"),
        (b"columns:\n  shop_customer.name: scramble\n", r"shop_customer\.name"),
    ],
    ids=["unclosed", "truncated", "binary", "nul", "empty", "blank", "list", "unknown-rule"],
)
def test_bad_rules_are_one_line_and_nothing_is_registered(shop_sqlite, tmp_path, content, match):
    path = tmp_path / "rules.yaml"
    path.write_bytes(content)
    refused("dataset", "add", "shop-local", "--rules", str(path), "--sqlite", str(shop_sqlite),
            match=match)  # fmt: skip
    refused("dataset", "check-rules", "--rules", str(path), match=r"problem in|rules\.yaml")
    assert not Dataset.objects.exists()
    assert not any((tmp_path / "gate").rglob("*.sqlite"))


@pytest.mark.django_db
def test_malicious_yaml_runs_nothing(shop_sqlite, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "rules.yaml"
    path.write_text(f'columns: !!python/object/apply:os.system ["touch {marker}"]\n')
    refused("dataset", "add", "shop-local", "--rules", str(path), "--sqlite", str(shop_sqlite),
            match=r"not valid YAML.*constructor")  # fmt: skip
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 problem in "):
        gate("dataset", "check-rules", "--rules", str(path), out=out)
    assert "not valid YAML" in out.getvalue()
    # An alias bomb is only a refused shape, not a billion rows
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    path.write_text(bomb + "columns: *i\n")
    refused("dataset", "add", "shop-local", "--rules", str(path), "--sqlite", str(shop_sqlite),
            match=r"unknown key|must be a mapping")  # fmt: skip
    assert not marker.exists() and not Dataset.objects.exists()


@pytest.mark.django_db
def test_check_rules_lists_each_problem(shop_sqlite, tmp_path):
    path = tmp_path / "partial.yaml"
    path.write_text("columns:\n  shop_customer.name: name\n  shop_customer.phone: hash\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match=rf"^2 problems in {path}$"):
        gate("dataset", "check-rules", "--rules", str(path), "--sqlite", str(shop_sqlite), out=out)
    assert out.getvalue().splitlines() == [
        "no rule for shop_customer.email (add a rule or keep)",
        "a rule names no column of the source: shop_customer.phone",
    ]
    # Without a source only the rules themselves are checked
    assert gate("dataset", "check-rules", "--rules", str(path))[0].strip() == "rules OK"
    refused("dataset", "add", "shop-local", "--rules", str(path), "--sqlite", str(shop_sqlite),
            match=r"shop_customer\.email")  # fmt: skip


@pytest.mark.django_db
def test_bad_input_is_one_line(shop_sqlite, rules, tmp_path):
    r = ["--rules", str(rules)]
    refused("dataset", "add", "x", "--rules", str(tmp_path / "nope.yaml"), "--sqlite",
            str(shop_sqlite), match=r"rules file .*nope\.yaml does not exist")  # fmt: skip
    refused("dataset", "add", "x", "--rules", str(tmp_path), "--sqlite", str(shop_sqlite),
            match=r"is not a regular file")  # fmt: skip
    refused("dataset", "add", "x", *r, "--engine", "e", "--sqlite", str(shop_sqlite),
            match=r"argument --sqlite: not allowed with argument --engine")  # fmt: skip
    refused("dataset", "add", "x", *r, match=r"one of the arguments --engine --sqlite --dump")
    refused("dataset", "add", "x", *r, "--engine", "nope", match=r"^no engine named 'nope'$")
    refused("dataset", "add", "x", *r, "--sqlite", str(tmp_path / "missing.sqlite"),
            match=r"missing\.sqlite not found")  # fmt: skip
    refused("dataset", "add", "Bad_Name", *r, "--sqlite", str(shop_sqlite),
            match=r"dataset name 'Bad_Name'")  # fmt: skip
    refused("dataset", "add", "x", *r, "--dump", str(tmp_path / "d.dump"),
            match=r"needs the gate's server")  # fmt: skip
    refused("dataset", "add", "x", *r, "--dump", str(tmp_path / "d.dump"), "--server", "nope",
            match=r"no engine named 'nope'")  # fmt: skip
    Engine.objects.create(name="duck", kind="duckdb", path=str(tmp_path / "x.duckdb"))
    refused("dataset", "add", "x", *r, "--engine", "duck", match=r"duck is a duckdb engine")
    refused("dataset", "check-rules", *r, "--engine", "nope", match=r"no engine named 'nope'")
    refused("dataset", "check-rules", *r, "--sqlite", str(tmp_path / "missing.sqlite"),
            match=r"no such SQLite file")  # fmt: skip
    refused("dataset", "remove", "nope", match=r"^no dataset named 'nope'$")
    gate("dataset", "add", "shop-local", *r, "--sqlite", str(shop_sqlite))
    refused("dataset", "add", "shop-local", *r, "--sqlite", str(shop_sqlite),
            match=r"^a dataset named shop-local exists$")  # fmt: skip

    project = ["--repository", str(tmp_path), "--kind", "django", "--target", "s.settings"]
    refused("project", "add", "shop", *project, "--dataset", "nope",
            match=r"^no dataset named nope$")  # fmt: skip
    refused("project", "add", "shop", *project, match=r"--dataset")
    refused("project", "add", "shop", "--repository", "r", "--kind", "flyway", "--dataset",
            "shop-local", match=r"invalid choice: 'flyway'")  # fmt: skip
    refused("project", "add", "shop", "--repository", "r", "--kind", "django", "--dataset",
            "shop-local", match=r"needs its settings module")  # fmt: skip
    refused("project", "add", "shop", *project, "--dataset", "shop-local", "--time-limit", "0",
            match=r"--time-limit must be more than 0")  # fmt: skip
    refused("project", "add", "shop", *project, "--dataset", "shop-local", "--directory",
            "../up", match=r"inside it")  # fmt: skip
    gate("project", "add", "shop", *project, "--dataset", "shop-local", "--requirements",
         "req.txt", "more.txt", "--time-limit", "60")  # fmt: skip
    added = Project.objects.get()
    assert added.requirements == ["req.txt", "more.txt"] and added.time_limit_seconds == 60
    refused("project", "add", "shop", *project, "--dataset", "shop-local",
            match=r"^a gated project named shop exists$")  # fmt: skip

    refused("check", "nope", "main", match=r"^no gated project named 'nope'$")
    refused("check", "shop", "--", "--upload-pack=x", match=r"refused ref")
    refused("check", "shop", "$(reboot)", match=r"refused ref")
    refused("recheck", "999", match=r"^no check 999$")
    refused("show", "999", match=r"^no check 999$")
    refused("show", "one", match=r"invalid int value: 'one'")
    refused("dataset", match=r"required: \{add,list,check-rules,remove\}$")
    refused("project", match=r"required: \{add,list\}$")
    assert not Check.objects.exists()


@pytest.mark.usefixtures("shop_source")
@pytest.mark.django_db
@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_postgresql_dataset_is_added_from_an_engine(rules):
    refused("dataset", "add", "shop-prod", "--rules", str(rules), "--engine", "shop-prod",
            match=r"needs the gate's server")  # fmt: skip
    out, err = gate("dataset", "add", "shop-prod", "--rules", str(rules), "--engine",
                    "shop-prod", "--server", "gate-server")  # fmt: skip
    dataset = Dataset.objects.get()
    assert dataset.kind == "postgresql" and dataset.tables["shop_order"] == SOURCE_ORDERS
    assert out.startswith(f"dataset shop-prod (postgresql): {len(dataset.tables)} tables, ")
    assert "from engine shop-prod (postgresql)" in out
    assert f"kept as: {dataset.template} on gate-server" in out
    assert "shop-prod: " in err  # progress lines
    listing, _ = gate("dataset", "list")
    assert "shop-prod" in listing and "postgresql" in listing
    out, _ = gate("dataset", "check-rules", "--rules", str(rules), "--engine", "shop-prod")
    assert out.strip() == "rules OK for shop-prod"
