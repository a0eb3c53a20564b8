"""What the Session page shows, read in a fixed number of queries whatever the session's size:
the selected step and its nearest ancestors, one page of the history (in tree order, the
database doing the paging), the newest finished images to iterate from or compare, and the
steps in flight. A session of ten thousand steps reads as much as one of ten.

The history lists the tree depth first (studio/sessions/tree.py): each line of iterations in
step order, its branches after it, one level deeper; a branch says which step it came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import ImageAsset, ImageGeneration, ImageSession, table
from studio.errors import NotFound
from studio.jobs import work
from studio.sessions import tree
from studio.sessions.ownership import SESSION_NOT_FOUND
from studio.sessions.reads import GenerationView, step_state

if TYPE_CHECKING:
    from studio.services import Services

PER_PAGE = 10  # history rows per page (a column as tall as the viewer)
LINEAGE = 6  # ancestors of the selected step read (nearest first)
CHOICES = 50  # newest finished images offered to iterate from or compare

gens = table(ImageGeneration)
assets_t = table(ImageAsset)


@dataclass(frozen=True)
class HistoryRow:
    """A step of the history page: how deep in the tree, and the step it came from."""

    step: GenerationView
    parent_step: int | None
    depth: int  # how many branches deep (0: the first line of its tree)
    branches: bool  # it starts a branch: its parent already had a child before it


@dataclass
class SessionPage:
    """One view of a session: everything the page draws, and nothing else."""

    session: ImageSession
    step_count: int
    selected: GenerationView | None
    lineage: list[GenerationView]  # the selected step's ancestors, parent first (up to LINEAGE)
    lineage_complete: bool  # the lineage reaches the first step of its branch of the tree
    history: list[HistoryRow]
    page: int  # 1-based, of `pages`
    pages: int
    choices: list[GenerationView]  # finished images, newest first (+ the selected step's)
    in_flight: list[GenerationView]  # queued and running steps, oldest first
    costliest: tuple[int, float] | None = None  # the most expensive branch: (its last step, cost)
    by_id: dict[str, GenerationView] = field(default_factory=dict)  # every step read here

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def title(self) -> str:
        return self.session.title

    @property
    def parent(self) -> GenerationView | None:
        """The selected step's parent, if it has one."""
        return self.lineage[0] if self.lineage else None

    @property
    def total_cost(self) -> float:
        """What the session's finished steps cost."""
        return float(self.session.total_cost or 0.0)

    def step_numbers(self) -> dict[str, int]:
        """Step numbers by id, of every step read (for naming sources in a diff)."""
        numbers = {gid: v.step for gid, v in self.by_id.items()}
        for row in self.history:
            if row.parent_step is not None and row.step.parent_id is not None:
                numbers.setdefault(row.step.parent_id, row.parent_step)
        return numbers

    @property
    def replay_key(self) -> str | None:
        """The replay the selected step is part of (its job's key), if any."""
        if self.selected is None:
            return None
        key = getattr(self.selected.generation, "job_key", None)
        return key if key and key.startswith("replay:") else None

    def choice_ids(self) -> list[str]:
        return [g.id for g in self.choices]


def open_session(
    services: Services,
    owner_id: str,
    session_id: str,
    *,
    selected_id: str | None = None,
    step: int | str | None = None,
    page: int | None = None,
    per_page: int = PER_PAGE,
) -> SessionPage:
    """The page's view of a session: `selected_id` if it is a step of it, else step number
    `step` (a `?step=` link), else the newest finished image, else the newest step. `page`:
    the history page to show; None shows the one holding the selected step."""
    wanted_step = _int(step)
    with services.db() as db:
        top = gens.alias("top")
        head = db.execute(
            sa.select(
                ImageSession,
                _count(gens.c.session_id == ImageSession.id, gens.c.deleted_at.is_(None)),
                top.c.step,
                top.c.path_cost,
            )
            .outerjoin(
                top,
                sa.and_(
                    top.c.id == ImageSession.costliest_generation_id, top.c.deleted_at.is_(None)
                ),
            )
            .where(
                ImageSession.id == session_id,
                ImageSession.owner_id == owner_id,
                ImageSession.deleted_at.is_(None),
            )
        ).first()
        if head is None:
            raise NotFound(SESSION_NOT_FOUND)
        session, step_count = head[0], int(head[1] or 0)
        costliest = (int(head[2]), float(head[3] or 0.0)) if head[2] is not None else None
        line = db.execute(_lineage(session_id, selected_id, wanted_step)).all()
        selected_row = line[0] if line else None
        pages = max(1, math.ceil(step_count / per_page))
        if page is None:
            before = int(selected_row.before or 0) if selected_row is not None else 0
            page = before // per_page + 1
        page = min(pages, max(1, page))
        history = db.execute(_history(session_id, page, per_page)).all()
        choices = db.execute(
            sa.select(gens)
            .where(
                gens.c.session_id == session_id,
                gens.c.completed_at.isnot(None),
                gens.c.deleted_at.is_(None),
            )
            .order_by(gens.c.step.desc())
            .limit(CHOICES)
        ).all()
        in_flight = db.execute(
            work.join_job(sa.select(gens), gens.c.job_id)
            .where(
                gens.c.session_id == session_id,
                gens.c.completed_at.is_(None),  # the partial index of unproduced steps
                gens.c.deleted_at.is_(None),
                work.jobs.c.status.in_(work.ACTIVE_JOB_STATUSES),
            )
            .order_by(gens.c.step)
        ).all()
        views: dict[str, GenerationView] = {}
        for row in [*line, *(r for r in history), *in_flight]:
            views.setdefault(row.id, GenerationView(row, step_state(row)))
        for row in choices:  # produced: succeeded, whatever their job says
            views.setdefault(row.id, GenerationView(row, work.WorkState("succeeded")))
        for asset in db.execute(
            sa.select(assets_t)
            .where(assets_t.c.generation_id.in_(list(views)), assets_t.c.owner_id == owner_id)
            .order_by(assets_t.c.created_at, assets_t.c.id)
        ).all():
            view = views.get(asset.generation_id)
            if view is not None and asset.role in ("input", "mask", "output"):
                getattr(view, f"{asset.role}s").append(asset)

    selected = views[selected_row.id] if selected_row is not None else None
    lineage = [views[r.id] for r in line[1:]]
    complete = not line or line[-1].parent_generation_id is None
    choice_views = [views[r.id] for r in choices]
    if selected is not None and selected.status == "succeeded" and selected not in choice_views:
        choice_views.append(selected)  # an older image picked in the history
    parent = lineage[0] if lineage else None
    if parent is not None and parent.status == "succeeded" and parent not in choice_views:
        choice_views.append(parent)
    return SessionPage(
        session=session,
        step_count=step_count,
        selected=selected,
        lineage=lineage,
        lineage_complete=complete,
        history=[
            HistoryRow(
                views[r.id],
                r.parent_step,
                tree.depth(r.tree_key),
                r.parent_key is not None and r.parent_key != r.tree_key,
            )
            for r in history
        ],
        page=page,
        pages=pages,
        choices=choice_views,
        in_flight=[views[r.id] for r in in_flight],
        costliest=costliest,
        by_id=views,
    )


def _int(value: int | str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _count(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
    return sa.select(sa.func.count()).select_from(gens).where(*where).scalar_subquery()


def _lineage(session_id: str, selected_id: str | None, step: int | None) -> sa.Select[Any]:
    """The selected step (first row) and up to LINEAGE ancestors, nearest first; the first row
    also says how many steps come before it in tree order (which history page holds it)."""
    g = gens.alias("g")

    def first(*where: sa.ColumnElement[bool], newest: bool = False) -> sa.ScalarSelect[Any]:
        q = sa.select(g.c.id).where(g.c.session_id == session_id, g.c.deleted_at.is_(None), *where)
        if newest:
            q = q.order_by(g.c.step.desc())
        return q.limit(1).scalar_subquery()

    anchor = sa.func.coalesce(
        first(g.c.id == (selected_id or "")),
        first(g.c.step == (step if step is not None else -1)),
        first(g.c.completed_at.isnot(None), newest=True),
        first(newest=True),
    )
    up = tree.ancestors(anchor, LINEAGE)
    row = gens.alias("row")
    # Counted for the selected step only (CASE does not evaluate it for the ancestors).
    earlier = sa.or_(
        gens.c.tree_key < row.c.tree_key,
        sa.and_(gens.c.tree_key == row.c.tree_key, gens.c.step < row.c.step),
    )
    live = gens.c.deleted_at.is_(None)
    before = sa.case((up.c.n == 0, _count(gens.c.session_id == session_id, live, earlier)))
    return (
        work.join_job(sa.select(row, before.label("before")), row.c.job_id)
        .add_columns(work.jobs.c.concurrency_key.label("job_key"))  # a replay's key
        .join(up, up.c.id == row.c.id)
        .order_by(up.c.n)
    )


def _history(session_id: str, page: int, per_page: int) -> sa.Select[Any]:
    """One page of the history in tree order, each step with its parent's number and key."""
    parent = gens.alias("parent")
    columns = (gens, parent.c.step.label("parent_step"), parent.c.tree_key.label("parent_key"))
    return (
        work.join_job(sa.select(*columns), gens.c.job_id)
        .outerjoin(parent, parent.c.id == gens.c.parent_generation_id)
        .where(gens.c.session_id == session_id, gens.c.deleted_at.is_(None))
        .order_by(gens.c.tree_key, gens.c.step)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
