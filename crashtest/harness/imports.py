"""The crash tester's imports workload: clients that import result files over the API
(`POST /api/v1/imports/`) while nemeses kill the web server, then an account of what is there
(the GET API) against what the clients were told, in Jepsen's total-queue terms.

Each import is one run named `crash-imp-<seed>-<client>-<n>` with `tests_per_import` tests whose
names carry that id, in Assay's JSON format. A share of them, chosen by the seed (BAD_KINDS),
are bad on purpose and must leave no row: a malformed file (truncated, an invalid status, or a
good file followed by a truncated one in the same request: all-or-nothing) or a request cut off
halfway through its first or its second file (the full Content-Length, part of the body, then
the socket closed). An import is sent once: one whose answer was lost (a killed server, a 5xx, a
timeout) stays indeterminate, as in Jepsen.

Pure: no Django, no new dependency (the standard library, and the harness's Api for the reads);
it talks to the site over HTTP only.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from crashtest.harness.accounting import Check, total_queue
from crashtest.harness.api import Api

IMPORTS_PATH = "/api/v1/imports/"
RUNS_PATH = "/api/v1/runs/"
RESULTS_PATH = "/api/v1/results/"
# The imports that are bad on purpose, and their shares: requests cut off halfway through
# their first or their second file (1 in 20), files the importer must refuse (1 in 10).
BAD_KINDS = {
    "cut-first": 0.025,  # cut inside the first of two files
    "cut-second": 0.025,  # cut inside the second: the first file arrived whole
    "truncated": 0.034,  # one file, cut short
    "bad-status": 0.033,  # one file, its last result with an invalid status
    "bad-second-file": 0.033,  # a good file, then a truncated one in the same request
}
KINDS = ("good", *BAD_KINDS)
BACKOFF_SECONDS = 0.2  # after an indeterminate answer: the server may be down for a second
CAUSES_SHOWN = 5


def run_prefix(seed: int) -> str:
    """The start of every run name of the workload with this seed."""
    return f"crash-imp-{seed}-"


def names_of(import_id: str, tests: int) -> list[str]:
    """The test names of one import: each carries its id."""
    return [f"{import_id}.t{k:03d}" for k in range(tests)]


def result_file(import_id: str, names: list[str], rng: random.Random) -> bytes:
    """An Assay JSON file (assay-results/1): one run, named `import_id`, holding `names`."""
    document = {
        "format": "assay-results/1",
        "run": import_id,
        "project": "crashtest",
        "host": "imports",
        "test_runner": "crashtest-imports",
        "results": [
            {
                "name": name,
                "status": rng.choice("PPPPPPFED"),
                "duration": round(rng.uniform(0, 2), 3),
                "log": f"{name}: {rng.getrandbits(64):016x}\n",
            }
            for name in names
        ],
    }
    return json.dumps(document, indent=1).encode()


def multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body (each file in the field `file`) and its content type."""
    boundary = f"crash-{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for filename, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/json\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Unanswered(Exception):
    """The site could not be asked: connection refused or reset, a timeout, a 5xx."""


def _cause(status: int, body: bytes) -> str:
    """What an answer says went wrong, in a few words: `400 bad_file`, or for a 5xx the first
    two lines of Django's plain-text debug page (`500 OperationalError at ...: database is
    locked`)."""
    text = body.decode(errors="replace")
    try:
        return f"{status} {json.loads(text)['error']}"
    except (ValueError, KeyError, TypeError):
        lines = [line.strip() for line in text.splitlines() if line.strip()][:2]
        return f"{status} {': '.join(lines)[:160]}".strip()


def _tally(causes: Counter[str], *, refused: bool) -> str:
    """The commonest causes of refusals (4xx, cut-off requests) or of unanswered imports."""
    picked = [(c, n) for c, n in causes.most_common() if c.startswith(("4", "cut off")) == refused]
    return "; ".join(f"{c} x{n}" for c, n in picked[:CAUSES_SHOWN])


def _kind(roll: float) -> str:
    """The kind of import a roll of the dice in [0, 1) picks."""
    for kind, share in BAD_KINDS.items():
        if roll < share:
            return kind
        roll -= share
    return "good"


class ImportsWorkload:
    """`clients` threads posting imports until stop(); check() accounts for them."""

    name = "imports"

    def __init__(
        self,
        api: str,
        token: str,
        *,
        clients: int,
        seed: int,
        on_done: Callable[[str], None] | None = None,
        tests_per_import: int = 20,
        timeout: float = 30.0,
    ) -> None:
        """`api` is the site's root (http://127.0.0.1:PORT); `on_done(name)` is called once per
        acknowledged import; `timeout` bounds each request (SQLite's busy wait is 20 s)."""
        address = urlsplit(api)
        self.api = api.rstrip("/")
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.token = token
        self.clients = clients
        self.seed = seed
        self.on_done = on_done
        self.tests_per_import = tests_per_import
        self.timeout = timeout
        self.prefix = run_prefix(seed)
        self._api = Api(api, token, timeout)  # the reads: GET with retries, paging
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._attempted: set[str] = set()
        self._acknowledged: set[str] = set()
        self._refused: set[str] = set()  # bad on purpose, or a 4xx: must leave no row
        self._indeterminate: set[str] = set()
        self._bad_accepted: set[str] = set()  # bad on purpose and answered 2xx: a site bug
        self._good_refused: set[str] = set()
        self._cut_off = 0
        self._in_flight = 0
        self._causes: Counter[str] = Counter()  # why imports were refused or unanswered

    # --- the clients -------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._client, args=(c,), name=f"imports-{c}", daemon=True)
            for c in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop sending; the request in flight finishes (at most `timeout` seconds)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _client(self, client: int) -> None:
        # One generator per client: which imports are bad depends on the seed alone.
        rng = random.Random(self.seed * 1_000_003 + client)
        n = 0
        while not self._stop.is_set():
            n += 1
            if not self.send(f"{self.prefix}{client}-{n}", _kind(rng.random()), rng):
                self._stop.wait(BACKOFF_SECONDS)

    def send(self, import_id: str, kind: str = "good", rng: random.Random | None = None) -> bool:
        """Send one import of `kind` (one of KINDS) and record its outcome; False when the site
        did not answer. The clients' loop; a test may call it for one import of its choice."""
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r}: one of {', '.join(KINDS)}")
        rng = rng or random.Random(import_id)
        names = names_of(import_id, self.tests_per_import)
        files = self._files(import_id, names, kind, rng)
        body, content_type = multipart({"project": "crashtest"}, files)
        with self._lock:
            self._attempted.add(import_id)
            if kind != "good":
                self._refused.add(import_id)
            self._in_flight += 1
        try:
            if kind.startswith("cut-"):
                # Halfway through the first or the second file's data.
                data = files[0 if kind == "cut-first" else 1][1]
                status, cause = self._cut(body, content_type, body.find(data) + len(data) // 2)
                self._record(import_id, kind, status, cause)
                return status is not None
            try:
                status, answer = self._post(body, content_type)
            except Unanswered as exc:
                self._record(import_id, kind, None, str(exc))
                return False
            self._record(import_id, kind, status, "" if status < 300 else _cause(status, answer))
            return True
        finally:
            with self._lock:
                self._in_flight -= 1

    def _files(
        self, import_id: str, names: list[str], kind: str, rng: random.Random
    ) -> list[tuple[str, bytes]]:
        """The files of one import of `kind`: a good import is one file; a cut-off one two
        halves (the request is cut inside one of them); a malformed one a truncated file, an
        invalid status in the last result, or a good half followed by a truncated half."""
        whole = result_file(import_id, names, rng)
        if kind == "good":
            return [(f"{import_id}.json", whole)]
        if kind == "truncated":
            end = rng.randrange(len(whole) // 10, len(whole) * 9 // 10)
            return [(f"{import_id}.json", whole[:end])]
        if kind == "bad-status":
            document = json.loads(whole)
            document["results"][-1]["status"] = "X"
            return [(f"{import_id}.json", json.dumps(document).encode())]
        half = len(names) // 2
        first, second = (result_file(import_id, part, rng) for part in (names[:half], names[half:]))
        if kind == "bad-second-file":
            second = second[: len(second) // 2]
        return [(f"{import_id}-a.json", first), (f"{import_id}-b.json", second)]

    def _headers(self, content_type: str, length: int) -> dict[str, str]:
        return {
            "Authorization": f"Token {self.token}",
            "Accept": "application/json",
            "Content-Type": content_type,
            "Content-Length": str(length),
        }

    def _post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("POST", IMPORTS_PATH, body, self._headers(content_type, len(body)))
            response = connection.getresponse()
            answer = response.read()
        except ConnectionRefusedError:
            raise Unanswered("connection refused") from None
        except TimeoutError:
            raise Unanswered("timeout") from None
        except (OSError, http.client.HTTPException) as exc:
            raise Unanswered(type(exc).__name__) from None
        finally:
            connection.close()
        if response.status >= 500:
            raise Unanswered(_cause(response.status, answer))
        return response.status, answer

    def _cut(self, body: bytes, content_type: str, at: int) -> tuple[int | None, str]:
        """The headers with the full Content-Length, the body up to `at`, then the socket
        closed for writing. The site's answer (a second at most) is its status and cause."""
        head = f"POST {IMPORTS_PATH} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self._headers(content_type, len(body)).items())
        request = (head + "Connection: close\r\n\r\n").encode() + body[:at]
        answer = b""
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(request)
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(1.0)
                while len(answer) < 65536 and (data := sock.recv(4096)):
                    answer += data
        except OSError as exc:
            if not answer:
                return None, f"cut off: {type(exc).__name__}"
        headers, _, text = answer.partition(b"\r\n\r\n")
        first = headers.split(b"\r\n", 1)[0].split()
        if len(first) < 2 or not first[1].isdigit():
            return None, "cut off: no answer"
        status = int(first[1])
        return status, "cut off: " + (_cause(status, text) if status >= 300 else str(status))

    def _record(self, import_id: str, kind: str, status: int | None, cause: str) -> None:
        acknowledged = status is not None and status < 300
        with self._lock:
            self._cut_off += kind.startswith("cut-")
            if cause:
                self._causes[cause] += 1
            if kind != "good":  # bad on purpose: already counted as refused
                if acknowledged:
                    self._bad_accepted.add(import_id)
            elif acknowledged:
                self._acknowledged.add(import_id)
            elif status is None:
                self._indeterminate.add(import_id)
            else:
                self._refused.add(import_id)
                self._good_refused.add(import_id)
        if acknowledged and kind == "good" and self.on_done:
            self.on_done(self.name)

    # --- what the clients know ---------------------------------------------------------------

    def state(self) -> dict:
        with self._lock:
            return {
                "attempted": len(self._attempted),
                "acknowledged": len(self._acknowledged),
                "refused": len(self._refused),
                "indeterminate": len(self._indeterminate),
                "cut_off": self._cut_off,
                "bad_accepted": len(self._bad_accepted),
                "good_refused": len(self._good_refused),
                "causes": dict(self._causes.most_common()),
            }

    def outstanding(self) -> int:
        """Requests in flight: an import is done when answered, nothing stays queued after."""
        with self._lock:
            return self._in_flight

    def acknowledged_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._acknowledged)

    # --- the account -------------------------------------------------------------------------

    def observe(self, deadline: float) -> tuple[set[str], Counter[tuple[str, str]]]:
        """The workload's runs that exist, and how many results each (run, test name) has."""
        ours = self.prefix
        runs = {r["name"] for r in self._api.get_all(RUNS_PATH, deadline)}
        # The results list pages by cursor (newest first): stable while others still write.
        results = Counter(
            (r["run"], r["test_name"])
            for r in self._api.get_all(RESULTS_PATH, deadline)
            if r["run"].startswith(ours)
        )
        return {run for run in runs if run.startswith(ours)}, results

    def check(self, deadline: float) -> list[Check]:
        """After stop(): look at the site over the API (until time.monotonic() `deadline`)
        and account for every import."""
        with self._lock:
            attempted, acknowledged = set(self._attempted), set(self._acknowledged)
            refused, indeterminate = set(self._refused), set(self._indeterminate)
            bad_accepted, good_refused = set(self._bad_accepted), set(self._good_refused)
            cut_off, causes = self._cut_off, Counter(self._causes)
        try:
            runs, results = self.observe(deadline)
        except RuntimeError as exc:
            return [Check(self.name, "observed", "failed", ok=False, detail=str(exc))]
        per_run: dict[str, Counter[str]] = {run: Counter() for run in runs}
        for (run, test), n in results.items():
            per_run.setdefault(run, Counter())[test] = n
        observed: list[str] = []
        half_written = []
        for run, tests in per_run.items():
            # A run name is unique: an import there twice shows as its results twice.
            observed += [run] * max(tests.values(), default=1)
            if set(tests) != set(names_of(run, self.tests_per_import)):
                half_written.append(f"{run} ({len(tests)} of {self.tests_per_import} tests)")
        checks = total_queue(self.name, attempted, acknowledged, observed, refused=refused)
        bad = len(refused) - len(good_refused)
        checks += [
            Check(
                self.name, "half-written", len(half_written), not half_written,
                detail=", ".join(sorted(half_written)[:10]),
            ),
            Check(
                self.name, "bad accepted", len(bad_accepted), not bad_accepted,
                detail=", ".join(sorted(bad_accepted)[:10]),
            ),
            Check(
                self.name, "refused", len(refused), fails_run=False,
                detail=f"{bad} bad on purpose ({cut_off} cut off), {len(good_refused)} good ones "
                f"refused; {_tally(causes, refused=True)}",
            ),
            Check(
                self.name, "indeterminate", len(indeterminate), fails_run=False,
                detail=_tally(causes, refused=False),
            ),
        ]  # fmt: skip
        return checks
