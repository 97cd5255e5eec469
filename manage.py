#!/usr/bin/env python
import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    finally:
        # The interpreter's exit runs the cycle collector over every object the process
        # loaded (Django, the apps): a tenth of a second, a third of a one-file import. The
        # command is over; what is left is freed when the process ends.
        gc.freeze()


if __name__ == "__main__":
    main()
