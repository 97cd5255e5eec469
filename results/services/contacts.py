"""Contacts: who hears about the failures under a test-name prefix of a project.

The file is Pandokia's (`pdk import_contact < file`): one `project,prefix,email` line per
contact, several lines per project or prefix allowed, an empty prefix meaning the whole
project and a line with an empty e-mail only clearing its project. Assay also accepts two
optional fields, `format` (summary or full) and `line_limit`, blank lines and `#` comments.

Importing replaces the contacts of the projects the file names, and only those, in one
transaction: a bad line refuses the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count

from core.exceptions import AssayError
from results.models import Contact, Project

FIELDS = ("project", "prefix", "email", "format", "line_limit")
PROJECT_MAX = Project._meta.get_field("name").max_length
PREFIX_MAX = Contact._meta.get_field("test_prefix").max_length
EMAIL_MAX = Contact._meta.get_field("email").max_length
FORMATS = tuple(Contact.Format.values)


@dataclass(frozen=True)
class ContactLine:
    line: int
    project: str
    prefix: str
    email: str  # "" only clears the project (Pandokia's meaning)
    format: str
    line_limit: int


@dataclass
class ContactImportSummary:
    source: str
    contacts: dict[str, int] = field(default_factory=dict)  # project -> contacts it has now
    replaced: dict[str, int] = field(default_factory=dict)  # project -> contacts it had
    new_projects: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.contacts.values())


def check_line_limit(value: int | str, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise AssayError(
            f"{where}: line limit {str(value)[:40]!r} is not a whole number.",
            code="bad_line_limit",
        ) from None
    if number < 0:
        raise AssayError(f"{where}: line limit {number} is negative.", code="bad_line_limit")
    return number


def check_format(value: str, where: str) -> str:
    value = value.strip().lower()
    if value not in FORMATS:
        raise AssayError(
            f"{where}: format {value[:40]!r} is not one of {', '.join(FORMATS)}.",
            code="bad_format",
        )
    return value


def _is_email(value: str) -> bool:
    if len(value) > EMAIL_MAX:
        return False
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _text(data: bytes | str, source: str) -> str:
    """The file as text, or AssayError naming the line of the first NUL or non-UTF-8 byte."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    nul = raw.find(b"\x00")
    try:
        text = raw.decode("utf-8-sig")
        bad = -1
    except UnicodeDecodeError as exc:
        text, bad = "", exc.start
    if nul >= 0 and (bad < 0 or nul <= bad):
        line = raw[:nul].count(b"\n") + 1
        raise AssayError(
            f"{source}, line {line}: binary data (a NUL byte), not a contact file.",
            code="binary_file",
        )
    if bad >= 0:
        line = raw[:bad].count(b"\n") + 1
        raise AssayError(
            f"{source}, line {line}: not UTF-8 text; is this a contact file?", code="binary_file"
        )
    return text


def parse_contacts(
    data: bytes | str,
    *,
    source: str = "<stdin>",
    default_format: str = Contact.Format.SUMMARY,
    default_line_limit: int = 100,
) -> list[ContactLine]:
    """The file's contact lines, checked; AssayError naming the line for the first bad one."""
    default_format = check_format(default_format, "--format")
    default_line_limit = check_line_limit(default_line_limit, "--line-limit")
    lines: list[ContactLine] = []
    seen: dict[tuple[str, str, str], ContactLine] = {}
    for number, raw in enumerate(_text(data, source).splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}, line {number}"
        parts = [part.strip() for part in stripped.split(",")]
        if len(parts) < 3:
            raise AssayError(
                f"{where}: expected project,prefix,email; found {len(parts)} field(s) "
                f"in {stripped[:60]!r}.",
                code="bad_contact_line",
            )
        if len(parts) > len(FIELDS):
            raise AssayError(
                f"{where}: {len(parts)} fields; at most {len(FIELDS)} ({','.join(FIELDS)}).",
                code="bad_contact_line",
            )
        project, prefix, email = parts[:3]
        if not project:
            raise AssayError(f"{where}: the project is empty.", code="bad_contact_line")
        if len(project) > PROJECT_MAX:
            raise AssayError(
                f"{where}: project {project[:40]!r}... is longer than {PROJECT_MAX} characters.",
                code="bad_contact_line",
            )
        if len(prefix) > PREFIX_MAX:
            raise AssayError(
                f"{where}: prefix {prefix[:40]!r}... is longer than {PREFIX_MAX} characters.",
                code="bad_contact_line",
            )
        # Addresses are compared and stored in lower case so one person is one address.
        email = email.lower()
        if email and not _is_email(email):
            raise AssayError(
                f"{where}: {email[:80]!r} is not a valid e-mail address.", code="bad_email"
            )
        fmt = check_format(parts[3], where) if len(parts) > 3 and parts[3] else default_format
        limit = (
            check_line_limit(parts[4], where) if len(parts) > 4 and parts[4] else default_line_limit
        )
        contact = ContactLine(number, project, prefix, email, fmt, limit)
        if email:
            key = (project, prefix, email)
            before = seen.get(key)
            if before is not None:
                if (before.format, before.line_limit) != (fmt, limit):
                    raise AssayError(
                        f"{where}: repeats line {before.line} ({project},{prefix},{email}) "
                        "with another format or line limit.",
                        code="bad_contact_line",
                    )
                continue
            seen[key] = contact
        lines.append(contact)
    if not lines:
        raise AssayError(
            f"{source}: no contacts in the file (expected project,prefix,email lines).",
            code="empty_file",
        )
    return lines


def import_contacts(
    data: bytes | str,
    *,
    source: str = "<stdin>",
    default_format: str = Contact.Format.SUMMARY,
    default_line_limit: int = 100,
) -> ContactImportSummary:
    """Replace the contacts of every project the file names (and only those), all or nothing."""
    lines = parse_contacts(
        data, source=source, default_format=default_format, default_line_limit=default_line_limit
    )
    names = sorted({line.project for line in lines})
    summary = ContactImportSummary(source)
    with transaction.atomic():
        projects = dict(Project.objects.filter(name__in=names).values_list("name", "id"))
        summary.new_projects = [name for name in names if name not in projects]
        if summary.new_projects:
            Project.objects.bulk_create(
                [Project(name=name) for name in summary.new_projects], ignore_conflicts=True
            )
            projects = dict(Project.objects.filter(name__in=names).values_list("name", "id"))
        before = dict(
            Contact.objects.filter(project_id__in=projects.values())
            .order_by()
            .values_list("project__name")
            .annotate(n=Count("id"))
        )
        Contact.objects.filter(project_id__in=projects.values()).delete()
        Contact.objects.bulk_create(
            [
                Contact(
                    project_id=projects[line.project],
                    test_prefix=line.prefix,
                    email=line.email,
                    format=line.format,
                    line_limit=line.line_limit,
                )
                for line in lines
                if line.email
            ]
        )
    for name in names:
        summary.replaced[name] = before.get(name, 0)
        summary.contacts[name] = sum(1 for line in lines if line.project == name and line.email)
    return summary
