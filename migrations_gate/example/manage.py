#!/usr/bin/env python
"""The example project the gate checks in the demo and the tests: a shop whose migrations
include a slow one, one that rewrites a table and one that locks it."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
