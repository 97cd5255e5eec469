from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.selectors import job_type_rows, schedule_rows


class Command(BaseCommand):
    help = (
        "List every registered job type (with its handlers and rows per state) and every "
        "schedule (with its next run). Apps register both in their tasks.py (core.registry)."
    )

    def handle(self, *args, **opts):
        try:
            job_types, schedules = job_type_rows(), schedule_rows()
        except DatabaseError as exc:
            raise CommandError(
                f"Cannot read the job rows ({exc}); is the database migrated? "
                "Run `manage.py migrate`."
            ) from exc
        self.stdout.write("Job types (rows run by core.tasks.run_job):")
        for row in job_types:
            counts = "  ".join(f"{state} {n}" for state, n in row.counts.items())
            self.stdout.write(f"  {row.label}\n    execute: {row.execute}")
            if row.after_finish != "-":
                self.stdout.write(f"    after finish: {row.after_finish}")
            self.stdout.write(f"    rows: {counts}")
        self.stdout.write("Schedules (created or updated by migrate):")
        for row in schedules:
            when = row.next_run.isoformat(timespec="seconds") if row.next_run else "-"
            state = f"next run {when}" if row.created else "not created yet: run migrate"
            self.stdout.write(f"  {row.name}: {row.func}, {row.every}, {state}")
