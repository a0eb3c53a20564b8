"""Lineage on the Session page, on both databases: what changed between two steps, the cost
and time summed along a step's path, the session's total and most expensive branch, and the
mask integrity count of inpainting steps."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from studio import imaging
from studio import sessions as S
from studio.jobs.worker import process_next
from studio.providers.base import ImageRequest, ImageResult
from studio.services import Services
from studio.sessions.diff import WordChange, diff_steps, word_diff

OWNER = "alice"


@pytest.fixture(autouse=True)
def priced(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The offline renderer is free: here each step costs a cent per word of its prompt."""
    # the adapter itself: services.provider() hands out a fresh observing wrapper each call
    provider = next(p.provider for p in services.providers if p.name == "local")
    assert provider is not None
    render = provider.generate_image

    def generate_image(model: str, request: ImageRequest) -> ImageResult:
        result = render(model, request)
        result.cost_actual = 0.01 * len(request.prompt.split())
        return result

    monkeypatch.setattr(provider, "generate_image", generate_image)


def params(prompt: str = "a red fox in the snow", **kw: object) -> S.GenerationParams:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return S.GenerationParams(prompt=prompt, **kw)  # type: ignore[arg-type]


def left_half_mask(w: int = 64, h: int = 64) -> bytes:
    arr = np.zeros((h, w), np.uint8)
    arr[:, : w // 2] = 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def run_all(services: Services) -> None:
    while process_next(services, "test") is not None:
        pass


def by_step(services: Services, session_id: str) -> dict[int, S.GenerationView]:
    return {g.step: g for g in S.get_session(services, OWNER, session_id).generations}


def chain(services: Services) -> str:
    """Step 1 (text), step 2 (new words, seed, strength), step 3 (inpaint, another negative)."""
    session, _ = S.create_session(
        services, OWNER, params(seed=1), idempotency_key=str(uuid.uuid4())
    )
    run_all(services)
    steps = by_step(services, session.id)
    S.iterate(
        services,
        OWNER,
        session.id,
        steps[1].id,
        params("a red fox jumping in deep snow", seed=2, strength=0.5),
        idempotency_key=str(uuid.uuid4()),
    )
    run_all(services)
    steps = by_step(services, session.id)
    S.iterate(
        services,
        OWNER,
        session.id,
        steps[2].id,
        params("a red fox jumping in deep snow", seed=2, strength=0.5, negative_prompt="blurry"),
        idempotency_key=str(uuid.uuid4()),
        mask=left_half_mask(),
    )
    run_all(services)
    return session.id


def test_word_diff_marks_added_and_removed_words() -> None:
    assert word_diff("a red fox in the snow", "a red fox jumping in deep snow") == [
        WordChange("same", "a"),
        WordChange("same", "red"),
        WordChange("same", "fox"),
        WordChange("added", "jumping"),
        WordChange("same", "in"),
        WordChange("removed", "the"),
        WordChange("added", "deep"),
        WordChange("same", "snow"),
    ]


def test_the_diff_of_two_steps_lists_exactly_the_changed_fields(services: Services) -> None:
    steps = by_step(services, chain(services))
    names = {g.id: g.step for g in steps.values()}
    one_two = diff_steps(steps[1], steps[2], names)
    assert sorted(one_two.keys) == sorted(
        ["prompt", "mode", "params.seed", "params.strength", "source"]
    )
    assert {c.key: (c.before, c.after) for c in one_two.changes}["source"] == (
        "none (from the prompt alone)",
        "step 1's image",
    )
    assert [w.word for w in one_two.prompt_words if w.kind == "added"] == ["jumping", "deep"]
    two_three = diff_steps(steps[2], steps[3], names)
    assert sorted(two_three.keys) == sorted(["negative_prompt", "mode", "mask", "source"])
    assert two_three.prompt_words == []  # same prompt: no word diff
    assert diff_steps(steps[3], steps[3], names).same


def test_cost_and_time_are_summed_along_the_path(services: Services) -> None:
    sid = chain(services)
    steps = by_step(services, sid)
    # A branch from step 1: its path is steps 1 and 4 only.
    S.iterate(services, OWNER, sid, steps[1].id, params("a fox"), idempotency_key=str(uuid.uuid4()))
    run_all(services)
    steps = by_step(services, sid)
    cost = {n: S.costs.own_cost(g.generation) for n, g in steps.items()}
    ms = {n: g.generation.duration_ms or 0 for n, g in steps.items()}
    assert all(c > 0 for c in cost.values())
    g3, g4 = steps[3].generation, steps[4].generation
    assert g3.path_cost == pytest.approx(cost[1] + cost[2] + cost[3])
    assert g3.path_ms == ms[1] + ms[2] + ms[3]
    assert g4.path_cost == pytest.approx(cost[1] + cost[4])
    view = S.open_session(services, OWNER, sid, step=3)
    assert view.total_cost == pytest.approx(sum(cost.values()))
    top = max((3, g3.path_cost), (4, g4.path_cost), key=lambda t: t[1])
    assert view.costliest is not None and view.costliest[0] == top[0]
    assert view.costliest[1] == pytest.approx(top[1])
    totals = S.costs.path_totals(view.selected.generation, view.parent.generation)
    assert totals.cost == pytest.approx(g3.path_cost) and not totals.estimated


def test_every_inpaint_counts_the_pixels_changed_outside_the_mask(services: Services) -> None:
    steps = by_step(services, chain(services))
    assert steps[3].generation.mask_outside_changed == 0
    assert steps[2].generation.mask_outside_changed is None  # no mask: nothing to count


def test_changed_outside_counts_only_outside_the_mask() -> None:
    src = np.zeros((8, 8, 3), np.uint8)
    out = src.copy()
    out[:, :4] = 255  # inside the mask (left half)
    out[0, 7] = 9  # one pixel outside

    def png(arr: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG")
        return buf.getvalue()

    mask = left_half_mask(8, 8)
    assert imaging.changed_outside(png(src), png(out), mask) == 1
    out[0, 7] = 0
    assert imaging.changed_outside(png(src), png(out), mask) == 0


def test_songs_and_storyboards_show_what_they_cost(services: Services) -> None:
    from studio import songs
    from studio import storyboards as sb

    song = songs.create_song_draft(
        services, OWNER, title="Tides", tags=None, text="one two\n\nthree", idempotency_key="s"
    )
    board = sb.create_storyboard(services, OWNER, "Port")
    scene = sb.add_entity(services, OWNER, board.id, kind="scene", name="Quay")
    sb.request_image(
        services, OWNER, prompt="a quay at dawn", entity_id=scene.id, idempotency_key="i"
    )
    run_all(services)
    view = songs.get_song(services, OWNER, song.id)
    with services.db() as db:
        ledger = db.execute(
            sa.text("SELECT kind, coalesce(cost_actual, cost_estimate) FROM usage_ledger")
        ).all()
    verse_costs = [c for k, c in ledger if k == "verse_illustration"]
    assert len(verse_costs) == 2 and view.total_cost == pytest.approx(sum(verse_costs))
    assert view.total_cost > 0
    page = sb.open_storyboard(services, OWNER, board.id)
    assert page.total_cost == pytest.approx(0.01 * len("a quay at dawn".split()))
