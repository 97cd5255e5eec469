from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `cap` rows (COUNT over a LIMITed subquery), so a page over millions of
    results never counts them all. Exact below the cap; above it the pages stop at the cap and
    the page says "more than" (narrow with a filter or a search)."""

    cap = 10_000

    @cached_property
    def _bounded_count(self) -> int:
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._bounded_count, self.cap)

    @property
    def capped(self) -> bool:
        return self._bounded_count > self.cap
