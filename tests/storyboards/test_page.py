"""The Storyboards page's view of a storyboard (studio/storyboards/page.py), on both databases:
one page of a tab's scenes or characters with what each card shows, the work in flight, the
earlier versions and the loose work read apart; the same statements for 5 entities and 50."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from studio import storyboards as sb
from studio.errors import NotFound
from studio.jobs.worker import process_next
from studio.services import Services
from tests.helpers.bulk import storyboard_with_history

OWNER = "alice"


def test_one_page_of_the_open_tab(services: Services) -> None:
    board = storyboard_with_history(services, OWNER, entities=13, history=3)
    view = sb.open_storyboard(services, OWNER, board)
    assert (view.scenes, view.characters, view.loose) == (7, 6, 0)
    assert [c.name for c in view.cards] == [f"Scene {i}" for i in (0, 2, 4, 6, 8)]
    assert view.pages == 2 and view.page == 1
    second = sb.open_storyboard(services, OWNER, board, page=2)
    assert [c.name for c in second.cards] == ["Scene 10", "Scene 12"]
    chars = sb.open_storyboard(services, OWNER, board, kind="character", page=9)
    assert chars.page == 2 and [c.name for c in chars.cards] == ["Character 11"]
    assert sb.open_storyboard(services, OWNER, board, kind=None).cards == []


def test_a_card_has_its_media_what_made_them_and_its_earlier_count(services: Services) -> None:
    board = storyboard_with_history(services, OWNER, entities=1, history=4)
    [card] = sb.open_storyboard(services, OWNER, board).cards
    assert card.image is not None and card.video is None
    assert card.image_generation is not None and card.image_generation.prompt == "scene 0 version 3"
    assert card.earlier == {"image": 3} and card.history_count == 3
    assert card.active == [] and card.failures == {}
    images, videos = sb.entity_history(services, OWNER, card.id)
    assert [g.prompt for g in images] == [f"scene 0 version {i}" for i in (2, 1, 0)]
    assert videos == [] and all(g.asset is not None for g in images)


def test_work_in_flight_and_failures_on_the_card(services: Services) -> None:
    board = storyboard_with_history(services, OWNER, entities=1, history=1)
    [card] = sb.open_storyboard(services, OWNER, board).cards
    video = sb.request_video(
        services, OWNER, prompt="waves", entity_id=card.id, idempotency_key="v"
    )
    image = sb.request_image(services, OWNER, prompt="dusk", entity_id=card.id, idempotency_key="i")
    view = sb.open_storyboard(services, OWNER, board)
    assert [g.id for g in view.cards[0].active] == [video.id, image.id]
    assert [item.request.id for item in view.in_flight] == [video.id, image.id]
    assert {item.entity_name for item in view.in_flight} == {"Scene 0"}
    job = services.queue.claim("w")
    assert job is not None
    services.queue.fail(job, error_class="permanent", message="Refused.")
    assert process_next(services, "w").status == "completed"
    [card] = sb.open_storyboard(services, OWNER, board).cards
    assert card.failures["video"].error == "Refused." and "image" not in card.failures
    assert card.earlier == {"image": 1, "video": 0}  # the first image is history now


def test_loose_work_is_read_apart_and_paged(services: Services) -> None:
    board = sb.create_storyboard(services, OWNER, "Loose")
    for i in range(14):
        sb.request_image(
            services, OWNER, prompt=f"loose {i}", storyboard_id=board.id, idempotency_key=f"l{i}"
        )
    view = sb.open_storyboard(services, OWNER, board.id)
    assert view.loose == 14 and view.cards == []
    first = sb.loose_requests(services, OWNER, board.id)
    assert [g.prompt for g in first][:2] == ["loose 13", "loose 12"] and len(first) == 12
    assert [g.prompt for g in sb.loose_requests(services, OWNER, board.id, page=2)] == [
        "loose 1",
        "loose 0",
    ]


def test_fifty_entities_read_like_five(services: Services) -> None:
    small = storyboard_with_history(services, OWNER, entities=5, history=10, title="small")
    big = storyboard_with_history(services, OWNER, entities=50, history=10, title="big")
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(services.engine, "before_cursor_execute", listener)
    try:
        sb.open_storyboard(services, OWNER, small)
        few = len(seen)
        seen.clear()
        view = sb.open_storyboard(services, OWNER, big)
        many = len(seen)
    finally:
        event.remove(services.engine, "before_cursor_execute", listener)
    assert few == many
    assert len(view.cards) == sb.page.PER_PAGE and view.scenes == 25


def test_another_owner_sees_nothing(services: Services) -> None:
    board = storyboard_with_history(services, OWNER, entities=1, history=1)
    [card] = sb.open_storyboard(services, OWNER, board).cards
    with pytest.raises(NotFound):
        sb.open_storyboard(services, "bob", board)
    with pytest.raises(NotFound):
        sb.entity_history(services, "bob", card.id)
    with pytest.raises(NotFound):
        sb.loose_requests(services, "bob", board)
