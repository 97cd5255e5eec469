"""Editing copies of a tree: a candidate is an edit applied to a fresh copy of the tree, built
only when it is tried; and the edits several passes make.

Replacements are parenthesized where an operator meets an operator, since sqlglot renders the
tree as it is, without adding the parentheses precedence would need.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from sqlglot import exp

# A candidate, built on demand (copying the tree costs more than deciding to skip it); None when
# the edit turns out not to apply.
_Build = Callable[[], exp.Expression | None]
Edit = Callable[[exp.Expression, exp.Expression], exp.Expression | None]


def _at(tree: exp.Expression, index: int, edit: Edit) -> _Build:
    """A candidate: ``edit(root, node)`` applied to a copy, ``node`` being the copy's node at
    position ``index`` of ``walk()`` (a copy walks in the same order)."""

    def build() -> exp.Expression | None:
        root = tree.copy()
        node = next(itertools.islice(root.walk(), index, None))
        return edit(root, node)

    return build


def _is_operator(node: exp.Expression) -> bool:
    """Whether the node renders as an operator whose operands precedence binds."""
    return isinstance(node, exp.Binary | exp.Unary | exp.Predicate) and not isinstance(
        node, exp.Paren | exp.Exists
    )


def _swap(root: exp.Expression, node: exp.Expression, new: exp.Expression) -> exp.Expression:
    """Put ``new`` (a fresh node or a descendant of ``node``) where ``node`` is; the new root."""
    if new.parent is not None:
        new.pop()
    parent = node.parent
    if parent is None:
        return new
    if _is_operator(new) and _is_operator(parent):
        new = exp.Paren(this=new)
    node.replace(new)
    return root


def _replace_with(new: exp.Expression) -> Edit:
    return lambda root, node: _swap(root, node, new.copy())


def _replace_with_child(key: str, index: int | None = None) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        value = node.args.get(key)
        child = value[index] if isinstance(value, list) and index is not None else value
        if not isinstance(child, exp.Expression):
            return None
        return _swap(root, node, child)

    return edit


def _children(node: exp.Expression) -> Iterator[tuple[str, int | None, exp.Expression]]:
    """(arg key, list index or None, child) for each child node, in argument order."""
    for key in type(node).arg_types:
        value = node.args.get(key)
        if isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, exp.Expression):
                    yield key, i, v
        elif isinstance(value, exp.Expression):
            yield key, None, value


def _drop_arg(*keys: str) -> Edit:
    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        if all(node.args.get(k) is None for k in keys):
            return None
        for k in keys:
            node.set(k, None)
        return root

    return edit


def _drop_listed(key: str, index: int, *, keep: int = 1) -> Edit:
    """Item ``index`` of the node's ``key`` list dropped, keeping at least ``keep`` items (the
    arg is removed when it may be empty)."""

    def edit(root: exp.Expression, node: exp.Expression) -> exp.Expression | None:
        items = node.args.get(key) or []
        if len(items) <= keep or index >= len(items):
            return None
        items[index].pop()
        if not node.args.get(key):
            node.set(key, None)
        return root

    return edit


def _window_function(node: exp.Expression) -> bool:
    """Whether the node is the function of a window (OVER needs a function before it)."""
    return isinstance(node.parent, exp.Window) and node.arg_key == "this"
