"""import_contacts: Pandokia's contact file, replacing the named projects' contacts, all or
nothing, with one-line errors naming the line."""

import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from results.models import Contact, Project
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def contacts() -> set[tuple]:
    return set(
        Contact.objects.values_list("project__name", "test_prefix", "email", "format", "line_limit")
    )


@pytest.fixture
def existing():
    """Contacts already there: engine's will be replaced, web's must survive."""
    for proj, prefix, email in [
        ("engine", "old.", "old@example.com"),
        ("engine", "", "lead@example.com"),
        ("web", "ui.", "web@example.com"),
    ]:
        Contact.objects.create(project=factories.project(proj), test_prefix=prefix, email=email)


def test_replaces_the_contacts_of_the_projects_in_the_file_only(tmp_path, existing):
    path = tmp_path / "file.contact"
    path.write_text(
        "engine,storage.,Alice@Example.com\n"
        "engine,storage.,bob@example.com\n"
        "engine,,lead@example.com\n"
    )
    out, err = run("import_contacts", str(path))
    assert contacts() == {
        ("engine", "storage.", "alice@example.com", "summary", 100),  # stored in lower case
        ("engine", "storage.", "bob@example.com", "summary", 100),
        ("engine", "", "lead@example.com", "summary", 100),
        ("web", "ui.", "web@example.com", "summary", 100),  # not in the file: untouched
    }
    assert "engine: 3 contact(s), replacing 2" in out
    assert f"{path}: 3 contact(s) in 1 project(s)" in out
    assert err == ""


def test_reads_standard_input_like_pdk_import_contact(monkeypatch, existing):
    data = b"web,ui.login.,ann@example.com\nweb,,,full,20\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out, _ = run("import_contacts", "-")
    assert {c for c in contacts() if c[0] == "web"} == {
        ("web", "ui.login.", "ann@example.com", "summary", 100),
    }  # a line without an e-mail only clears its project, as in Pandokia
    assert "<stdin>: 1 contact(s) in 1 project(s)" in out


def test_format_and_line_limit_defaults_and_per_line_fields(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "# project,prefix,email[,format[,line_limit]]\n"
        "\n"
        "engine,a.,a@example.com\n"
        "engine,b.,b@example.com,summary\n"
        "engine,c.,c@example.com,,7\n"
        "engine,d.,d@example.com, FULL ,0\n"
        "engine,d.,d@example.com,full,0\n"  # an identical repeat is harmless
    )
    run("import_contacts", str(path), "--format", "full", "--line-limit", "40")
    assert contacts() == {
        ("engine", "a.", "a@example.com", "full", 40),
        ("engine", "b.", "b@example.com", "summary", 40),
        ("engine", "c.", "c@example.com", "full", 7),
        ("engine", "d.", "d@example.com", "full", 0),
    }


def test_a_project_new_to_assay_is_created_and_pointed_out(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("engin,,typo@example.com\n")
    _, err = run("import_contacts", str(path))
    assert Project.objects.filter(name="engin").exists()
    assert "new project 'engin': it has no results yet" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"engine,,a@example.com\nengine,storage.,not-an-address\n",
         "line 2: 'not-an-address' is not a valid e-mail address"),
        (b"engine,,a@example.com\n\nengine;storage;b@example.com\n",
         "line 3: expected project,prefix,email; found 1 field(s)"),
        (b"engine,storage.\n", "line 1: expected project,prefix,email; found 2 field(s)"),
        (b",storage.,a@example.com\n", "line 1: the project is empty"),
        (b"engine,,a@example.com,weekly\n", "line 1: format 'weekly' is not one of summary, full"),
        (b"engine,,a@example.com,full,many\n", "line 1: line limit 'many' is not a whole number"),
        (b"engine,,a@example.com,full,-1\n", "line 1: line limit -1 is negative"),
        (b"engine,,a@example.com,full,1,x\n", "line 1: 6 fields; at most 5"),
        (b"engine,,a@example.com\nengine,,a@example.com,full\n",
         "line 2: repeats line 1 (engine,,a@example.com) with another format"),
        (b"", "no contacts in the file"),
        (b"# only a comment\n\n", "no contacts in the file"),
        (b"engine,,a@example.com\n\x89PNG\r\n\x1a\n\x00\x00", "line 2: not UTF-8 text"),
        (b"engine,,a@example.com\n\nab\x00cd,,x@example.com\n", "line 3: binary data"),
        (b"engine,,a@example.com\nengine,\xff\xfe,b@example.com\n", "line 2: not UTF-8 text"),
        ("engine,,{}@example.com\n".format("x" * 300).encode(), "is not a valid e-mail"),
    ],
)  # fmt: skip
def test_a_bad_line_is_one_line_error_and_nothing_is_written(tmp_path, existing, content, message):
    before = contacts()
    path = tmp_path / "bad.contact"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="^" + str(path).replace("\\", "\\\\")) as info:
        run("import_contacts", str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert contacts() == before


def test_a_later_bad_line_leaves_earlier_projects_untouched(tmp_path, existing):
    # web comes first and is valid; the bad engine line refuses the whole file.
    path = tmp_path / "c.csv"
    path.write_text("web,,new@example.com\nengine,,broken@\n")
    before = contacts()
    with pytest.raises(CommandError, match="line 2"):
        run("import_contacts", str(path))
    assert contacts() == before


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(CommandError, match="nope.csv: No such file"):
        run("import_contacts", str(tmp_path / "nope.csv"))


def test_bad_option_defaults_are_refused(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("engine,,a@example.com\n")
    with pytest.raises(CommandError, match="--line-limit: line limit -3 is negative"):
        run("import_contacts", str(path), "--line-limit", "-3")
    assert not Contact.objects.exists()
