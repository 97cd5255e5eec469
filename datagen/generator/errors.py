"""The one exception a bad spec raises."""

from __future__ import annotations


class SpecError(ValueError):
    """A spec that cannot be used: `path` names the bad key (``tables.Object.columns.ra.type``),
    `message` says what is wrong with it in a sentence a person can act on."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)
