#!/usr/bin/env bash
# `make test`'s two passes side by side: the whole suite on SQLite in the foreground, and the
# tests marked for the database on a private PostgreSQL in the background (the machine has two
# cores, and one pass mostly waits on the other's database). The PostgreSQL pass's output is
# printed when it ends; the exit status is non-zero when either pass failed.
set -uo pipefail

PY="${PY:-.venv/bin/python}"
ARGS=(-q -p no:cacheprovider --durations=12)
mkdir -p var
pg_log="var/test-postgresql.log"

"$PY" -m pytest "${ARGS[@]}" --db=postgresql >"$pg_log" 2>&1 &
pg_pid=$!
trap 'kill "$pg_pid" 2>/dev/null' INT TERM

echo "== SQLite pass (the PostgreSQL pass runs beside it: $pg_log)"
"$PY" -m pytest "${ARGS[@]}"
sqlite_status=$?

echo "== PostgreSQL pass"
wait "$pg_pid"
pg_status=$?
cat "$pg_log"
echo "== SQLite pass: exit $sqlite_status; PostgreSQL pass: exit $pg_status"
[ "$sqlite_status" -eq 0 ] && [ "$pg_status" -eq 0 ]
