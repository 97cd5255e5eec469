"""The lines a migration driver and the gate exchange. The drivers (this folder) run in the
project's own environment, not Assay's: they import only the standard library, their migration
tool and this module (found beside them), in Python 3.8 syntax. The gate's side is
migrations_gate/runner/steps.py.

The driver writes on stdout, among its tool's own output:

    assay-gate: ready <migration>     before each pending migration; then it reads one line
                                      from stdin: "go" runs it, anything else stops it (exit 0)
    assay-gate: start <migration>
    assay-gate: end <migration> <seconds>
    assay-gate: failed <migration>    after the traceback; then it exits 1
    assay-gate: done <applied> <left>  all it was let run ran, ``left`` still not applied after
                                      them (0: the schema is at the project's latest); exit 0

so the gate snapshots the database between migrations while nothing runs.
"""

import sys
import time

PREFIX = "assay-gate: "


def say(*words: object) -> None:
    sys.stdout.write(PREFIX + " ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def drive(pending, run, left) -> int:  # type: ignore[no-untyped-def]
    """For each name of ``pending``: wait for the gate's go, ``run(name)``, report; at the end
    ``left()`` counts the migrations still not applied. The exit code."""
    import traceback

    applied = 0
    for name in pending:
        say("ready", name)
        if sys.stdin.readline().strip() != "go":
            break
        say("start", name)
        started = time.perf_counter()
        try:
            run(name)
        except BaseException:  # the tool's error: reported, the check decides
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
            say("failed", name)
            return 1
        say("end", name, "%.6f" % (time.perf_counter() - started))
        applied += 1
    say("done", applied, left())
    return 0
