"""Where a step stands in its session's tree: a sort key, stored with the step, that lets the
database page the history in tree order without reading the whole tree.

The history lists a session depth first: a step, then the line that continues it, then the
branches that leave that line, latest branch point first. Iterating from a step that has no
child yet continues its line, so a long run of iterations stays one flat line; iterating from a
step that already has one starts a branch, drawn one level deeper. Each step's key is

- for a step without a parent (the first step, an upload): its step number;
- for the first child of a step: the parent's key (the line goes on; steps within a line sort
  by step number);
- for any later child: the parent's key + "/" + (TOP - the parent's step) + "." + its own step,
  so branches sort after the line they leave, and branches from later steps come first.

Numbers are zero-padded, so comparing keys as text compares them as numbers; ordering by
(tree_key, step) is the tree's order, and the number of "/" in a key is its depth.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageGeneration

WIDTH = 7
TOP = 10**WIDTH - 1
MAX_KEY = 2000  # the column's length; a branch nested deeper than that stays inline


def root_key(step: int) -> str:
    return f"{step:0{WIDTH}d}"


def child_key(parent_key: str, parent_step: int, step: int, *, first: bool) -> str:
    """The key of step `step` made from the step (`parent_key`, `parent_step`); `first`: the
    parent had no child before it."""
    if first:
        return parent_key
    key = f"{parent_key}/{TOP - parent_step:0{WIDTH}d}.{step:0{WIDTH}d}"
    return key if len(key) <= MAX_KEY else parent_key


def depth(key: str) -> int:
    """How many branches deep a step is (0: the first line of its tree)."""
    return key.count("/")


def key_for(db: Session, parent_id: str | None, step: int) -> str:
    """The key of a new step `step` made from `parent_id` (None: a new root), read before the
    step's row is added (the caller holds the session's lock)."""
    if parent_id is None:
        return root_key(step)
    parent = db.execute(
        sa.select(ImageGeneration.tree_key, ImageGeneration.step).where(
            ImageGeneration.id == parent_id
        )
    ).first()
    if parent is None:
        return root_key(step)
    has_child = db.scalar(
        sa.select(sa.literal(1)).where(ImageGeneration.parent_generation_id == parent_id).limit(1)
    )
    return child_key(parent.tree_key, parent.step, step, first=has_child is None)


def ancestors(start: Any, depth: int) -> sa.CTE:
    """A recursive CTE `up(id, parent, n)`: the step `start` (an id, or an expression giving
    one) at n = 0, its parent at n = 1, and so on up to `depth` steps above it."""
    gens = ImageGeneration.__table__
    up = (
        sa.select(gens.c.id, gens.c.parent_generation_id.label("parent"), sa.literal(0).label("n"))
        .where(gens.c.id == start)
        .cte("up", recursive=True)
    )
    prev = gens.alias("prev")
    return up.union_all(
        sa.select(prev.c.id, prev.c.parent_generation_id, up.c.n + 1)
        .join(up, prev.c.id == up.c.parent)
        .where(up.c.n < depth)
    )
