"""Before roles, any token could write: the users who hold one (and are not staff) join the CI
role, so that CI keeps working after the upgrade."""

from django.db import migrations


def tokens_to_ci(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Token = apps.get_model("authtoken", "Token")
    users = [t.user for t in Token.objects.select_related("user") if not t.user.is_staff]
    if users:
        group, _ = Group.objects.get_or_create(name="CI")
        group.user_set.add(*users)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_access"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(tokens_to_ci, migrations.RunPython.noop)]
