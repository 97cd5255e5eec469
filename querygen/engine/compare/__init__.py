"""Compare what the system under test (SUT) and the reference engine answered to one query.

``compare(sut, ref)`` (outcomes.py) gives a ``Comparison`` (verdict.py): first by the outcomes'
statuses, then by their rows (rows.py). Values are normalized before comparing, so that engines
that agree in SQL terms compare equal (normalize.py, where the rules are); rows are matched as
multisets, floats within a tolerance (multiset.py).
"""

from __future__ import annotations

from querygen.engine.compare.outcomes import compare
from querygen.engine.compare.verdict import MAX_DIFF_ROWS, Comparison, Kind, Side

__all__ = ["MAX_DIFF_ROWS", "Comparison", "Kind", "Side", "compare"]
