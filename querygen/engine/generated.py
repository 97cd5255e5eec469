"""Queries over querygen's own databases: query ``index`` runs on generated database
``index // settings.queries``, loaded into every engine of the run before its first query.

``GeneratedQueries`` stands where a QueryGenerator stands for the runner and the replays
(``query(index)``): the database a query needs is made again from (seed, number), so any
finding replays from its (seed, index) alone, on any machine. A reducer loads smaller
databases with ``use`` and gives the engines back with ``restore``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from querygen.engine.database import Database, DatabaseSettings, generate_database
from querygen.engine.engines import EngineClient
from querygen.engine.generator import Query, QueryGenerator
from querygen.engine.profile import Profile

__all__ = ["GeneratedQueries", "LoadFailed"]


@dataclass
class LoadFailed(Exception):
    """An engine refused a generated database: its queries cannot be checked."""

    number: int  # the database
    engine: str
    error: str
    next_index: int  # the first query of the next database

    def __str__(self) -> str:
        return f"database {self.number}: {self.engine} refused it: {self.error}"


class GeneratedQueries:
    def __init__(
        self,
        engines: Sequence[EngineClient],
        profile: Profile | None = None,
        seed: int = 0,
        settings: DatabaseSettings | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.engines = list(engines)
        profile = profile or Profile()
        # Tables of a dozen rows need no guard against joins that multiply rows (derived
        # tables with LIMIT, id windows): they would only hide constructs from the engines.
        self.profile = replace(profile, cross_join_rows=0, p_key_window=0.0)
        self.seed = seed
        self.settings = settings or profile.database_settings()
        self.timeout = timeout
        self.dialects = tuple(dict.fromkeys(e.dialect for e in self.engines))
        self.loaded: Database | None = None  # what every engine holds now
        self.loads = 0
        # Called with each database loaded: a single-engine oracle draws its predicates from
        # the database's schema.
        self.on_load: list[Callable[[Database], None]] = []
        self._database: Database | None = None
        self._generator: QueryGenerator | None = None

    def number(self, index: int) -> int:
        return index // self.settings.queries

    def database(self, number: int) -> Database:
        if self._database is None or self._database.number != number:
            self._database = generate_database(self.seed, number, self.settings, self.dialects)
            self._generator = None
        return self._database

    def database_of(self, index: int) -> Database:
        return self.database(self.number(index))

    def query(self, index: int) -> Query:
        """Query ``index``, with its database loaded; LoadFailed when an engine refuses it."""
        self.use(self.database_of(index))
        return self.generate(index)

    def generate(self, index: int) -> Query:
        """Query ``index`` without loading its database anywhere (a census, a preview)."""
        database = self.database_of(index)
        if self._generator is None:
            self._generator = QueryGenerator(
                database.schema, self.profile, self.seed, self.dialects
            )
        return self._generator.query(index)

    def use(self, database: Database) -> None:
        """Every engine holds ``database`` (loaded unless it already does)."""
        if database is self.loaded or database == self.loaded:
            return
        drop = self.loaded.drop_statements() if self.loaded is not None else None
        self.loaded = None  # until every engine holds the new one
        for engine in self.engines:
            outcome = engine.load(
                database.statements(engine.dialect), timeout=self.timeout, drop=drop
            )
            if not outcome.ok:
                first = (database.number + 1) * self.settings.queries
                raise LoadFailed(database.number, engine.name, outcome.error, first)
        self.loads += 1
        self.loaded = database
        for listener in self.on_load:
            listener(database)
