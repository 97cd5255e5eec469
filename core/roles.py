"""Who may do what: the roles, declared once (docs/permissions.md is the table people read).

A role is a Django group holding permissions of `core.Access` (a model without a table that only
carries them). Staff (`is_staff` or superuser) hold every permission; anonymous visitors only
read, and only while ASSAY_PUBLIC_READ is on. `manage.py create_ci_token` makes a user of the
CI role. Views ask through `has_permission` / `require`, never by testing `is_staff`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

# codename -> what it allows (the permission's name in the admin; core.models.Access holds them)
PERMISSIONS: dict[str, str] = {
    "import_results": "Import test results and generate or check expected tests",
    "submit_querygen": "Submit querygen runs against registered engines (no private build)",
    "submit_gate_check": "Submit and recheck migration-gate checks",
    "submit_datagen": "Submit and resume datagen runs (loads that only add rows)",
    "triage": "Set group and test status (known, ignored, mute), merge groups, replay findings",
    "replace_tables": "Datagen loads that replace a target's tables",
    "private_builds": "Querygen runs of a private build (sut_python, ladder)",
    "manage_engines": "Add and change engines, datasets and projects",
    "purge": "Delete runs and results",
    "rewrite_history": "Re-import into a valuable run; mark runs valuable",
    "read_job_logs": "Read job logs and the crash tester's folders (stack traces, paths)",
}

CI = "CI"
TRIAGER = "Triager"
STAFF = "Staff"

# group name -> its permissions. Staff users hold all of them without the group; the group is
# for people who should have staff's powers in Assay but not Django's admin.
ROLES: dict[str, tuple[str, ...]] = {
    CI: ("import_results", "submit_querygen", "submit_gate_check", "submit_datagen"),
    TRIAGER: ("triage",),
    STAFF: tuple(PERMISSIONS),
}

APP_LABEL = "core"
# The permission of a write nobody declared one for: staff (is_staff, superusers) only.
STAFF_ONLY = "staff"


def has_permission(user: Any, codename: str) -> bool:
    """Whether `user` (a User or AnonymousUser) holds the permission `codename`."""
    if codename != STAFF_ONLY and codename not in PERMISSIONS:
        raise KeyError(f"unknown permission {codename!r}; declared ones: {sorted(PERMISSIONS)}")
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return codename != STAFF_ONLY and user.has_perm(f"{APP_LABEL}.{codename}")


def require(user: Any, codename: str, what: str = "") -> None:
    """Raise PermissionDenied (HTTP 403) naming the permission when `user` lacks it."""
    if not has_permission(user, codename):
        doing = what or PERMISSIONS.get(codename, "this")
        raise PermissionDenied(
            f"{doing[0].upper() + doing[1:]} needs the permission {codename!r} "
            f"(roles: {', '.join(roles_with(codename))}); see docs/permissions.md."
        )


def roles_with(codename: str) -> list[str]:
    """The roles holding `codename` (staff users hold every one)."""
    return [role for role, perms in ROLES.items() if codename in perms] or [STAFF]


def sync_roles(**kwargs: Any) -> None:
    """post_migrate: the groups of ROLES hold exactly their permissions."""
    from django.contrib.auth.models import Group, Permission

    perms = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label=APP_LABEL, codename__in=list(PERMISSIONS)
        )
    }
    if len(perms) < len(PERMISSIONS):
        return  # core's permissions are created by the same post_migrate, after this app's turn
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([perms[c] for c in codenames])
