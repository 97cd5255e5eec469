"""manage.py create_ci_token: a CI role's user and its token."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import roles


def _token(*args) -> str:
    out = io.StringIO()
    call_command("create_ci_token", *args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db
def test_the_token_is_of_the_ci_role_and_imports_but_does_not_triage(django_user_model):
    key = _token("ci-bot")
    assert len(key) == 40 and Token.objects.get(key=key).user.username == "ci-bot"
    user = django_user_model.objects.get(username="ci-bot")
    assert list(user.groups.values_list("name", flat=True)) == [roles.CI]
    assert not user.has_usable_password() and not user.is_staff
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    imported = client.post("/api/v1/imports/", {}, format="multipart")
    assert imported.status_code == 400 and imported.json()["error"] == "no_files"
    triage = client.post("/api/v1/querygen/groups/bulk/", {}, format="json")
    assert triage.status_code == 403
    assert _token("ci-bot") == key  # the same token again
    assert _token("ci-bot", "--rotate") != key


@pytest.mark.django_db
def test_a_triagers_token(django_user_model):
    _token("nightly-triage", "--role", "triager")
    user = django_user_model.objects.get(username="nightly-triage")
    assert roles.has_permission(user, "triage")
    assert not roles.has_permission(user, "import_results")


@pytest.mark.django_db
def test_refuses_staff_users_and_bad_names(admin_user):
    with pytest.raises(CommandError, match="staff user"):
        _token(admin_user.username)
    with pytest.raises(CommandError, match="no spaces"):
        _token("ci bot")


@pytest.mark.django_db
def test_token_holders_join_ci_on_upgrade(django_user_model):
    """core/migrations/0003: before roles any token wrote; its users keep writing."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("core.migrations.0003_ci_role_for_tokens")
    old = django_user_model.objects.create_user("old-ci", password="pw-unused-1")
    Token.objects.create(user=old)
    staff = django_user_model.objects.create_user("boss", password="pw-unused-1", is_staff=True)
    Token.objects.create(user=staff)
    migration.tokens_to_ci(apps, None)
    assert list(old.groups.values_list("name", flat=True)) == [roles.CI]
    assert not staff.groups.exists()
    assert Group.objects.get(name=roles.CI).permissions.count() == len(roles.ROLES[roles.CI])
