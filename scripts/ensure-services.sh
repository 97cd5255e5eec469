#!/usr/bin/env bash
# Make sure the system programs the test suite needs are installed (idempotent).
#
# Called by `make test` before pytest; prints one line per service. A missing program is
# installed with apt-get when we are root on Debian/Ubuntu; otherwise we say what to
# install. Under CI=true a service that is still missing is an error (exit 1); elsewhere
# it is a warning and the tests that need it skip themselves.
#
# Add a service with one more `need` line at the bottom, e.g.
#   need chromium chromium
#   need sshd openssh-server
set -euo pipefail
shopt -s nullglob

# Searched after PATH, newest first: Debian keeps server binaries such as pg_ctl and
# initdb in /usr/lib/postgresql/<version>/bin, off PATH.
EXTRA_BIN_DIRS=(/usr/lib/postgresql/*/bin /usr/local/sbin /usr/sbin /sbin)

missing=()
apt_updated=0
apt_log="$(mktemp -t ensure-services-apt.XXXXXX)"
trap 'rm -f "$apt_log"' EXIT

say() { echo "ensure-services: $*"; }

is_ci() {
  case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
    *) return 1 ;;
  esac
}

# find_binary NAME: print the path of NAME from PATH or EXTRA_BIN_DIRS.
find_binary() {
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    return 0
  fi
  while IFS= read -r dir; do
    if [[ -x "$dir/$name" && ! -d "$dir/$name" ]]; then
      echo "$dir/$name"
      return 0
    fi
  done < <(printf '%s\n' "${EXTRA_BIN_DIRS[@]}" | sort -rV)
  return 1
}

# find_all A,B,C: print the path of the first binary if all of them exist.
find_all() {
  local names first="" name path
  IFS=, read -r -a names <<<"$1"
  for name in "${names[@]}"; do
    path="$(find_binary "$name")" || return 1
    [[ -n "$first" ]] || first="$path"
  done
  echo "$first"
}

can_apt_install() {
  [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1
}

# apt_install PACKAGE: quiet install (the log is shown only on failure).
apt_install() {
  local package=$1
  export DEBIAN_FRONTEND=noninteractive
  if [[ "$apt_updated" -eq 0 ]]; then
    apt-get update >>"$apt_log" 2>&1 || true # a stale list may still be able to install
    apt_updated=1
  fi
  if ! apt-get install -y --no-install-recommends "$package" >>"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    return 1
  fi
}

# need BINARIES DEBIAN_PACKAGE [LABEL]: BINARIES is one program or a comma-separated
# list that must all exist (e.g. pg_ctl,initdb,postgres).
need() {
  local binaries=$1 package=$2 label=${3:-$2} found
  if found="$(find_all "$binaries")"; then
    say "$label: ok ($found)"
    return 0
  fi
  if can_apt_install; then
    if apt_install "$package" && found="$(find_all "$binaries")"; then
      say "$label: installed Debian package '$package' ($found)"
      return 0
    fi
    say "$label: MISSING - 'apt-get install $package' did not provide ${binaries//,/, }" >&2
  else
    say "$label: MISSING - install the Debian package '$package'" \
      "(as root: apt-get install $package) or your system's equivalent" >&2
  fi
  missing+=("$label")
}

need pg_ctl,initdb,postgres postgresql postgresql
need chromium chromium "chromium (browser tests)"
need redis-server redis-server "redis-server (Redis broker tests)"

if [[ ${#missing[@]} -gt 0 ]]; then
  if is_ci; then
    say "missing under CI=true: ${missing[*]}" >&2
    exit 1
  fi
  say "continuing without: ${missing[*]} (the tests that need them will be skipped)" >&2
fi
