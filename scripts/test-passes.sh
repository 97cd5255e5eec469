#!/usr/bin/env bash
# `make test`'s two passes side by side: the whole suite on SQLite in the foreground (on two
# pytest-xdist processes), and the tests marked for the database on a private PostgreSQL in the
# background. The suite spends most of its time waiting on what it started (servers, clusters,
# browsers, timeouts): a 2-core machine ran it at about one core. The PostgreSQL pass's output is
# printed when it ends; the exit status is non-zero when either pass failed.
set -uo pipefail

PY="${PY:-.venv/bin/python}"
ARGS=(-q -p no:cacheprovider --durations=12)
mkdir -p var
pg_log="var/test-postgresql.log"

"$PY" -m pytest "${ARGS[@]}" --db=postgresql >"$pg_log" 2>&1 &
pg_pid=$!
trap 'kill "$pg_pid" 2>/dev/null' INT TERM

echo "== SQLite pass, on ${XDIST_WORKERS:-2} processes (the PostgreSQL pass runs beside it: $pg_log)"
# Most of the suite waits on servers, clusters and browsers it started: two processes, a test
# file each at a time (--dist loadfile keeps a file's fixtures in one process).
"$PY" -m pytest "${ARGS[@]}" -n "${XDIST_WORKERS:-2}" --dist loadfile
sqlite_status=$?

echo "== PostgreSQL pass"
wait "$pg_pid"
pg_status=$?
cat "$pg_log"
echo "== SQLite pass: exit $sqlite_status; PostgreSQL pass: exit $pg_status"
[ "$sqlite_status" -eq 0 ] && [ "$pg_status" -eq 0 ]
