"""Reduce a failing query to a small one that fails the same way (test-case reduction, in the
manner of C-Reduce and SQLancer's reducer, over sqlglot trees).

``reduce(tree, still_fails)`` tries smaller variants of the query and keeps one whenever
``still_fails(candidate)`` says the same discrepancy is still there (the caller re-runs its oracle
and decides what "the same" means: the same comparison kind, the same normalized error...). It is
greedy and runs to a fixpoint (driver.py), in passes ordered from the biggest cuts to the
smallest, each described in its module:

1. queries (queries.py): a set operation's side, a CTE's or derived table's query, a nested
   query taking the place of the whole; subqueries replaced by constants.
2. clauses (clauses.py): joins, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, DISTINCT, select
   items dropped; outer joins made inner; windows losing PARTITION BY / ORDER BY.
3. expressions (children.py): a node replaced by one of its children of the same kind.
4. literals (literals.py): an expression replaced by a simple literal of its kind.

The passes share edits.py (editing copies of the tree), kinds.py (enough typing to pick a
literal or a child that fits) and scopes.py (queries and their scopes); candidates.py holds what
every candidate goes through before the oracle sees it.

The input tree is never changed (every candidate is a copy), and the result depends only on the
input and on the answers of ``still_fails``: the same input and oracle give the same result.
"""

from __future__ import annotations

from querygen.engine.reduce.driver import Reduction, reduce, tree_size

# The other public names of the module this package was, still importable from here.
from querygen.engine.reduce.driver import StillFails as StillFails
from querygen.engine.reduce.edits import Edit as Edit

__all__ = ["Reduction", "reduce", "tree_size"]
