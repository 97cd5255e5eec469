"""core/permissions.py and core/roles.py held to docs/permissions.md: every write endpoint of the
OpenAPI schema and every write page, with each role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import roles
from core.models import Engine
from datagen.models import DatagenRun

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
ROLES = ("anonymous", "CI", "Triager", "Staff")
MISSING_ID = "999999"
YES_NO = r" \| (yes|no)" * 4
ROW = re.compile(r"^\| (POST|PATCH|PUT|DELETE) \| (\S+) \| (.+?)" + YES_NO + r" \|$")


def _table(section: str) -> dict[tuple[str, str], dict[str, bool]]:
    """The rows of one section of docs/permissions.md: (method, path) -> {role: allowed}."""
    text = DOC.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        if m := ROW.match(line):
            method, path, _, *allowed = m.groups()
            rows[(method, path)] = {
                role: a == "yes" for role, a in zip(ROLES, allowed, strict=True)
            }
    assert rows, f"no table rows under '## {section}' in {DOC}"
    return rows


def _user(django_user_model, role: str):
    if role == "anonymous":
        return None
    user = django_user_model.objects.create_user(f"user-{role.lower()}", password="pw-unused-1")
    if role == "Staff":
        user.is_staff = True
        user.save()
    else:
        user.groups.add(Group.objects.get(name=role))
    return user


def _api(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _send(client, method: str, path: str):
    url = path.replace("{id}", MISSING_ID)
    if url == "/api/v1/imports/":
        return client.post(url, {}, format="multipart")
    return getattr(client, method.lower())(url, {}, format="json")


def test_the_table_names_every_write_of_the_schema(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    writes = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }
    assert writes == set(_table("The API's writes")), "docs/permissions.md and the schema differ"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_write_what_the_table_says(role, django_user_model):
    client = _api(_user(django_user_model, role))
    wrong = []
    for (method, path), allowed in _table("The API's writes").items():
        answer = _send(client, method, path)
        refused = answer.status_code in (401, 403)
        if refused == allowed[role]:
            wrong.append(f"{method} {path}: {answer.status_code} {answer.content[:200]!r}")
        if refused:
            assert set(answer.json()) == {"error", "detail"}, answer.content
    assert not wrong, f"{role}: " + "; ".join(wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_use_the_write_pages_the_table_says(role, django_user_model):
    user = _user(django_user_model, role)
    client = Client()
    if user is not None:
        client.force_login(user)
    wrong = []
    for (method, path), allowed in _table("The pages' writes").items():
        answer = client.post(path.replace("{id}", MISSING_ID), {})
        if (answer.status_code == 403) == allowed[role]:
            wrong.append(f"{method} {path}: {answer.status_code}")
    assert not wrong, f"{role}: " + "; ".join(wrong)


def test_the_permissions_table_matches_the_roles():
    """The docs' table of permissions is core.roles.ROLES, permission by permission."""
    text = DOC.read_text()
    for codename in roles.PERMISSIONS:
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| `{codename}` |"))
        marks = [cell.strip() == "✓" for cell in line.strip("|").split("|")[2:]]
        expected = [codename in roles.ROLES[r] for r in (roles.CI, roles.TRIAGER, roles.STAFF)]
        assert marks == expected, line


@pytest.mark.django_db
def test_a_ci_token_may_not_replace_tables(token_client, admin_client, tmp_path):
    """The hole of the issue: a CI token wiped the querygen reference database."""
    Engine.objects.create(name="reference", kind="sqlite", path=str(tmp_path / "ref.sqlite"))
    body = {"spec": "fakedb", "chunks": "first:1", "load_engine": "reference"}
    answer = token_client.post(
        "/api/v1/datagen/runs/", {**body, "replace_tables": True}, format="json"
    )
    assert answer.status_code == 403, answer.content
    assert "replace_tables" in answer.json()["detail"]
    assert not DatagenRun.objects.exists()
    adding = token_client.post(
        "/api/v1/datagen/runs/", {**body, "replace_tables": False}, format="json"
    )
    assert adding.status_code == 202, adding.content
    staff = admin_client.post(
        "/api/v1/datagen/runs/",
        {**body, "replace_tables": True},
        content_type="application/json",
    )
    assert staff.status_code == 202, staff.content


@pytest.mark.django_db
def test_roles_are_groups_holding_their_permissions():
    for role, codenames in roles.ROLES.items():
        group = Group.objects.get(name=role)
        held = set(group.permissions.values_list("codename", flat=True))
        assert held == set(codenames), role


@pytest.mark.django_db
def test_staff_hold_every_permission_and_anonymous_none(admin_user, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    plain = django_user_model.objects.create_user("reader", password="pw-unused-1")
    for codename in [*roles.PERMISSIONS, roles.STAFF_ONLY]:
        assert roles.has_permission(admin_user, codename)
        assert not roles.has_permission(AnonymousUser(), codename)
        assert not roles.has_permission(plain, codename)
    with pytest.raises(KeyError):
        roles.has_permission(admin_user, "no_such_permission")
