"""The exceptions of a bad spec or chunk selection (light: no numpy, for the site's start-up)."""

from __future__ import annotations

from importlib import resources


class SpecError(ValueError):
    """A spec that cannot be used: `path` names the bad key (``tables.Object.columns.ra.type``),
    `message` says what is wrong with it in a sentence a person can act on."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class ChunkSelectionError(ValueError):
    """A chunk selection that names no chunk, or a chunk the chunker does not have."""


def bundled_spec_names() -> list[str]:
    """The specs shipped with the package ('fakedb', 'querygen'): their names, without loading
    the generator (the API's schema lists them when the URLs load)."""
    folder = resources.files("datagen.generator").joinpath("specs")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))
