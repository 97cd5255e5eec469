"""A JSON client for the site's API, as any CI system would use it: a token, urllib, and a
clear line between an answer (any status) and no answer (the server is down or cut us off)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any


class NoAnswer(Exception):
    """The request got no HTTP answer: refused, reset, timed out. Its effect is unknown."""


class Api:
    def __init__(self, base_url: str, token: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON or None). NoAnswer when the server did not answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (the site's own URL)
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return answer.status, _decode(answer.read())
        except urllib.error.HTTPError as answer:
            return answer.code, _decode(answer.read())
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            # HTTPException: the server died between its headers and its body (IncompleteRead)
            raise NoAnswer(f"{method} {path}: {type(exc).__name__}: {exc}") from None

    def get(self, path: str, deadline: float) -> Any:
        """GET until it answers 200 (the server may be restarting) or time.monotonic() passes
        `deadline`: then RuntimeError."""
        last = ""
        while True:
            try:
                status, body = self.call("GET", path)
                if status == 200:
                    return body
                last = f"{status} {str(body)[:300]}"
            except NoAnswer as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise RuntimeError(f"GET {path} did not answer 200 in time: {last}")
            time.sleep(0.3)

    def get_all(self, path: str, deadline: float) -> list[dict]:
        """Every item of a paged list (DRF's `results`/`next`, or a plain list)."""
        items: list[dict] = []
        page = self.get(path, deadline)
        while True:
            if isinstance(page, list):
                return items + page
            items.extend(page["results"])
            if not page.get("next"):
                return items
            page = self.get(page["next"].removeprefix(self.base_url), deadline)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw[:500].decode(errors="replace")
