"""What the tests of the results commands share: a Pandokia file of one run, and `run`,
which calls a command and returns what it printed. The CLI mirrors the API; failures are one
line (CommandError), never a traceback."""

import io

from django.core.management import call_command

PDK = """test_run=daily_2026-11-01
project=proj
host=h1
SETDEFAULT
test_name=pkg.mod.test_ok
status=P
END
test_name=pkg.mod.test_bad
status=F
log:
.first line
.second line

END
"""


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()
