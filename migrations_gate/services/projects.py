"""Gated projects: a repository, its kind of migrations, and the datasets its changes run on."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import transaction

from core.exceptions import AssayError, Conflict, NotFound
from migrations_gate.models import Dataset, MigrationKind, Project

__all__ = ["add_project", "get_project"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_DEFAULT_TARGET = {MigrationKind.ALEMBIC: "alembic.ini", MigrationKind.SQL: "migrations"}


def get_project(name: str) -> Project:
    try:
        return Project.objects.get(name=name)
    except Project.DoesNotExist:
        raise NotFound(f"no gated project named {name!r}") from None


def add_project(
    name: str,
    repository: str,
    kind: str,
    *,
    datasets: Sequence[str] = (),
    target: str = "",
    directory: str = "",
    requirements: Sequence[str] = (),
    time_limit_seconds: int | None = None,
) -> Project:
    if not _NAME_RE.match(name or ""):
        raise AssayError(
            f"project name {name!r}: lower-case letters, digits and -", code="bad_name"
        )
    if kind not in MigrationKind.values:
        raise AssayError(
            f"kind {kind!r}: one of {', '.join(MigrationKind.values)}", code="bad_kind"
        )
    if kind == MigrationKind.DJANGO and not target:
        raise AssayError("a Django project needs its settings module (target)", code="bad_target")
    for path in (directory, target, *requirements):
        if path.startswith("/") or ".." in path.split("/"):
            raise AssayError(
                f"{path!r}: paths are relative to the repository, inside it", code="bad_path"
            )
    if not repository or repository.startswith("-"):
        raise AssayError(f"repository {repository!r}: a git URL or path", code="bad_repository")
    found = list(Dataset.objects.filter(name__in=datasets))
    missing = sorted(set(datasets) - {d.name for d in found})
    if missing:
        raise NotFound(f"no dataset named {', '.join(missing)}")
    with transaction.atomic():
        if Project.objects.filter(name=name).exists():
            raise Conflict(f"a gated project named {name} exists")
        project = Project.objects.create(
            name=name,
            repository=repository,
            kind=kind,
            target=target or _DEFAULT_TARGET.get(kind, ""),
            directory=directory.strip("/"),
            requirements=list(requirements),
            **({"time_limit_seconds": time_limit_seconds} if time_limit_seconds else {}),
        )
        project.datasets.set(found)
    return project
