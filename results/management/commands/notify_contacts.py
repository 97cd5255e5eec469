from django.core.management.base import BaseCommand, CommandError

from results.management.commands._common import one_line_errors
from results.services.notify import Message, notify_contacts


class Command(BaseCommand):
    help = (
        "E-mail each contact the failing, erroring and missing tests of RUN under their "
        "prefixes (one e-mail per address). A run is announced once unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("run", metavar="RUN", help="Run name; aliases like daily_latest ok")
        parser.add_argument(
            "--force", action="store_true", help="Send again to addresses announced before"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the e-mails; send and record nothing"
        )

    def handle(self, *args, **opts):
        dry_run = opts["dry_run"]

        def sent(message: Message) -> None:
            self.stdout.write(f"sent {message.email}: {message.subject}")

        with one_line_errors():
            s = notify_contacts(opts["run"], force=opts["force"], dry_run=dry_run, on_sent=sent)
        if dry_run:
            for message in s.messages:
                self.stdout.write(f"--- would send to {message.email}: {message.subject}")
                self.stdout.write(message.text.rstrip())
        for email, error in s.failed:
            self.stderr.write(f"FAILED {email}: {error}")

        if not s.contacts:
            self.stdout.write(f"{s.run.name}: no contacts (import them with import_contacts)")
            return
        verb = "would be sent" if dry_run else "sent"
        parts = [f"{len(s.messages)} e-mail(s) {verb}"]
        if s.already:
            parts.append(f"{len(s.already)} already announced (--force to send again)")
        if s.busy:
            parts.append(f"{len(s.busy)} being sent by another notifier")
        if s.quiet:
            parts.append(f"{len(s.quiet)} address(es) with nothing to report")
        if s.failed:
            parts.append(f"{len(s.failed)} failed")
        self.stdout.write(f"{s.run.name}: " + ", ".join(parts))
        if s.failed:
            raise CommandError(
                f"{len(s.failed)} e-mail(s) could not be sent; run the command again to retry them."
            )
