"""The Session page's view of a session (studio/sessions/page.py), on both databases: the
selected step and its ancestors, one page of the history with the database doing the paging,
the finished images offered as choices, the steps in flight; never every step."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from studio import sessions as S
from studio.errors import NotFound
from studio.jobs.worker import process_next
from studio.services import Services
from studio.sessions import page as page_module
from tests.helpers.bulk import produced_session

OWNER = "alice"


def params() -> S.GenerationParams:
    return S.GenerationParams(prompt="a fox", width=64, height=64)


def test_the_newest_image_is_selected_on_the_page_that_holds_it(services: Services) -> None:
    sid = produced_session(services, OWNER, 45)
    view = S.open_session(services, OWNER, sid, per_page=20)
    assert view.step_count == 45 and view.pages == 3 and view.page == 3
    assert view.selected is not None and view.selected.step == 45
    # Each branch of the bulk session leaves the start of the previous one, so depth first is
    # step order here: 1–13, then 14–20 (from 7), 21–27 (from 14), … 42–45 (from 35).
    assert [r.step.step for r in view.history] == [41, 42, 43, 44, 45]
    assert [r.depth for r in view.history] == [4, 5, 5, 5, 5]
    assert view.selected.output is not None and view.in_flight == []
    assert [a.step for a in view.lineage] == [44, 43, 42, 35, 28, 21]  # 42 branched from 35
    assert not view.lineage_complete  # the ancestors go further back than what was read


def test_an_older_step_opens_the_page_that_holds_it(services: Services) -> None:
    sid = produced_session(services, OWNER, 45)
    view = S.open_session(services, OWNER, sid, step="7", per_page=20)
    assert view.selected is not None and view.selected.step == 7
    assert view.page == 1 and 7 in [r.step.step for r in view.history]
    assert [a.step for a in view.lineage] == [6, 5, 4, 3, 2, 1] and view.lineage_complete
    turned = S.open_session(services, OWNER, sid, selected_id=view.selected.id, page=3, per_page=20)
    assert turned.page == 3 and [r.step.step for r in turned.history] == [41, 42, 43, 44, 45]
    assert turned.selected is not None and turned.selected.step == 7
    assert S.open_session(services, OWNER, sid, page=99, per_page=20).page == 3  # clamped


def test_branches_say_where_they_came_from(services: Services) -> None:
    sid = produced_session(services, OWNER, 21)
    rows = {r.step.step: r for r in S.open_session(services, OWNER, sid, per_page=30).history}
    assert rows[14].parent_step == 7 and rows[14].branches
    assert rows[15].parent_step == 14 and not rows[15].branches
    assert rows[21].parent_step == 14 and rows[21].branches and rows[21].depth == 2


def test_the_history_is_the_tree_depth_first(services: Services) -> None:
    """A line of iterations stays flat; iterating again from a step that already has a child
    starts a branch, listed after the line it leaves (latest branch point first), one deeper."""
    first, gen = S.create_session(services, OWNER, params(), idempotency_key="a")
    process_next(services, "w")
    made = {"A": gen}

    def step(name: str, parent: str) -> None:
        made[name] = S.iterate(
            services, OWNER, first.id, made[parent].id, params(), idempotency_key=name
        )
        process_next(services, "w")

    for name, parent in [
        ("B", "A"),
        ("C", "B"),
        ("D", "A"),
        ("E", "B"),
        ("F", "E"),
        ("G", "C"),
        ("H", "C"),
    ]:
        step(name, parent)
    names = {g.id: n for n, g in made.items()}
    view = S.open_session(services, OWNER, first.id, per_page=20)
    order = [(names[r.step.id], r.depth, r.branches) for r in view.history]
    assert order == [
        ("A", 0, False),
        ("B", 0, False),
        ("C", 0, False),
        ("G", 0, False),
        ("H", 1, True),  # a branch from C, the latest branch point
        ("E", 1, True),
        ("F", 1, False),  # a branch from B, and its line
        ("D", 1, True),  # a branch from A
    ]
    paged = S.open_session(services, OWNER, first.id, selected_id=made["F"].id, per_page=3)
    assert paged.page == 3 and [names[r.step.id] for r in paged.history] == ["F", "D"]


def test_a_stale_selection_falls_back_to_the_link_then_the_newest(services: Services) -> None:
    sid = produced_session(services, OWNER, 5)
    assert S.open_session(services, OWNER, sid, selected_id="gone", step=2).selected.step == 2
    assert S.open_session(services, OWNER, sid, selected_id="gone", step="x").selected.step == 5


def test_choices_are_the_newest_images_plus_the_selected_one(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_module, "CHOICES", 5)
    sid = produced_session(services, OWNER, 30)
    view = S.open_session(services, OWNER, sid, step=2)
    assert [g.step for g in view.choices] == [30, 29, 28, 27, 26, 2, 1]  # + selected, parent
    assert all(g.output is not None for g in view.choices)


def test_the_page_never_reads_every_step(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What one view reads is bounded by the page, the choices and the lineage, not the
    session; and the number of statements is the same for 12 steps and 300."""
    monkeypatch.setattr(page_module, "CHOICES", 5)
    small, big = produced_session(services, OWNER, 12), produced_session(services, OWNER, 300)
    rows: list[int] = []

    def fetched(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        rows.append(statement)

    event.listen(services.engine, "before_cursor_execute", fetched)
    try:
        S.open_session(services, OWNER, small)
        few = len(rows)
        rows.clear()
        view = S.open_session(services, OWNER, big, step=150)
        many = len(rows)
    finally:
        event.remove(services.engine, "before_cursor_execute", fetched)
    assert few == many <= 8
    assert len(view.by_id) <= page_module.PER_PAGE + 5 + page_module.LINEAGE + 1 + 1


def test_steps_in_flight_are_read_with_their_stage(services: Services) -> None:
    session, gen = S.create_session(
        services,
        OWNER,
        S.GenerationParams(prompt="a fox", width=64, height=64),
        idempotency_key="k",
    )
    view = S.open_session(services, OWNER, session.id)
    assert [g.id for g in view.in_flight] == [gen.id] and view.selected.status == "queued"
    assert view.choices == [] and view.selected.output is None
    process_next(services, "w")
    done = S.open_session(services, OWNER, session.id)
    assert done.in_flight == [] and done.selected.status == "succeeded"
    assert [g.id for g in done.choices] == [gen.id]


def test_another_owner_sees_nothing(services: Services) -> None:
    sid = produced_session(services, OWNER, 3)
    with pytest.raises(NotFound):
        S.open_session(services, "mallory", sid)
    with pytest.raises(NotFound):
        S.open_session(services, OWNER, "no-such-session")


def test_an_empty_session_has_nothing_selected(services: Services) -> None:
    sid = produced_session(services, OWNER, 1)
    with services.db() as db:
        db.execute(sa.text("DELETE FROM image_assets"))
        db.execute(sa.text("DELETE FROM image_generations"))
    view = S.open_session(services, OWNER, sid)
    assert view.selected is None and view.history == [] and view.pages == 1
