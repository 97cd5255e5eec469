"""`manage.py create_ci_token NAME`: a user of the CI role and its API token, for a CI system."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from core import roles


class Command(BaseCommand):
    help = (
        "Create (or reuse) user NAME in the CI role and print its API token: it may import "
        "results, submit querygen runs, gate checks and datagen runs, and read "
        "(docs/permissions.md). --role triager makes a triager's token instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The user's name, e.g. ci-bot")
        parser.add_argument(
            "--role", choices=["ci", "triager"], default="ci", help="The role (default ci)."
        )
        parser.add_argument("--rotate", action="store_true", help="Replace an existing token.")

    def handle(self, *args, name: str, role: str, rotate: bool, **opts):
        name = name.strip()
        if not name or len(name) > 150 or any(c.isspace() for c in name):
            raise CommandError(f"{name!r}: a user name of 1 to 150 characters, no spaces")
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()  # a token's user signs in with its token only
            user.save(update_fields=["password"])
        elif user.is_staff:
            raise CommandError(f"{name} is a staff user: a CI token must not carry staff powers")
        group = Group.objects.filter(name=roles.CI if role == "ci" else roles.TRIAGER).first()
        if group is None:
            raise CommandError("the roles are missing: run `manage.py migrate` first")
        user.groups.add(group)
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
