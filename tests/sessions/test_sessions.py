"""Sessions and the generation tree (studio/sessions/) on both databases."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy import event

from db.schema import ImageAsset, ImageGeneration, ImageSession, Job, UsageLedger
from studio import sessions as S
from studio.errors import Invalid, LimitExceeded, NotFound
from studio.imaging import ImageRejected, read_parameters
from studio.jobs.worker import JobOutcome, process_next
from studio.services import Services
from tests.conftest import make_settings

OWNER = "alice"
OTHER = "mallory"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def params(prompt: str = "a red fox in a snowy forest at dawn", **kw: object) -> S.GenerationParams:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return S.GenerationParams(prompt=prompt, **kw)  # type: ignore[arg-type]


def key() -> str:
    return str(uuid.uuid4())


def run_all(services: Services) -> list[JobOutcome]:
    outcomes = []
    while (outcome := process_next(services, "test")) is not None:
        outcomes.append(outcome)
    return outcomes


def counts(services: Services) -> dict[str, int]:
    with services.db() as db:
        return {
            model.__tablename__: db.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (ImageSession, ImageGeneration, ImageAsset, Job)
        }


def png(w: int, h: int, color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def left_half_mask(w: int = 64, h: int = 64) -> bytes:
    arr = np.zeros((h, w), np.uint8)
    arr[:, : w // 2] = 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def pixels(services: Services, asset: ImageAsset) -> np.ndarray:
    data = services.storage.get(asset.bucket, asset.key)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def started(
    services: Services, prompt: str = "a red fox in a snowy forest at dawn"
) -> S.SessionView:
    """A session whose first step has been rendered."""
    session, _ = S.create_session(services, OWNER, params(prompt), idempotency_key=key())
    run_all(services)
    return S.get_session(services, OWNER, session.id)


def step(view: S.SessionView, number: int) -> S.GenerationView:
    return next(g for g in view.generations if g.step == number)


@contextmanager
def count_statements(services: Services) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(services.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(services.engine, "before_cursor_execute", listener)


# ---------------------------------------------------------------------------------------------
# pure helpers
# ---------------------------------------------------------------------------------------------


def test_title_from_prompt_is_one_short_line() -> None:
    assert S.title_from_prompt("  a fox\n in   snow ") == "a fox in snow"
    long = (
        "a very detailed watercolor painting of a lighthouse on a cliff above a stormy sea at night"
    )
    title = S.title_from_prompt(long)
    assert title.endswith("…") and len(title) <= 61 and "\n" not in title
    assert long.startswith(title[:-1])
    assert title[:-1] == long[: len(title) - 1] and long[len(title) - 1] == " "  # cut at a word
    assert S.title_from_prompt("x" * 100) == "x" * 60 + "…"
    assert S.title_from_prompt("   ") == "Untitled"


def test_params_from_mapping_snaps_sizes_and_ignores_unknown_keys() -> None:
    p = S.GenerationParams.from_mapping(
        {"prompt": "p", "width": 1001, "height": 20, "sampler": "x"}
    )
    assert (p.width, p.height) == (1000, 64) and p.prompt == "p"


# ---------------------------------------------------------------------------------------------
# create, list, get
# ---------------------------------------------------------------------------------------------


def test_create_session_queues_step_one_with_its_job(services: Services) -> None:
    session, gen = S.create_session(services, OWNER, params(seed=7), idempotency_key=key())
    assert session.title == "a red fox in a snowy forest at dawn"
    assert (session.provider, session.model) == ("local", "sketch")
    assert (gen.step, gen.mode, gen.parent_generation_id) == (1, "text_to_image", None)
    assert S.get_session(services, OWNER, session.id).by_id[gen.id].status == "queued"
    assert gen.params["seed"] == 7 and gen.params["width"] == 64
    job = services.queue.get(gen.job_id)
    assert job.kind == "session_generation" and job.payload == {"generation_id": gen.id}
    assert job.owner_id == OWNER and job.label == f"Step 1 · {session.title}"
    assert job.cost_estimate == 0.0

    [outcome] = run_all(services)
    assert outcome.status == "completed"
    view = S.get_session(services, OWNER, session.id)
    [done] = view.generations
    assert done.status == "succeeded" and done.generation.completed_at is not None
    assert done.generation.duration_ms is not None and done.generation.cost_actual == 0.0
    assert done.output is not None and (done.output.width, done.output.height) == (64, 64)
    assert view.latest is done and view.latest_output.id == done.output.id


def test_random_seed_is_chosen_and_recorded(services: Services) -> None:
    _, a = S.create_session(services, OWNER, params(), idempotency_key=key())
    _, b = S.create_session(services, OWNER, params(), idempotency_key=key())
    assert isinstance(a.params["seed"], int) and 0 <= a.params["seed"] < 2**31
    assert a.params["seed"] != b.params["seed"]


def test_list_sessions_pages_newest_first(services: Services) -> None:
    assert S.list_sessions(services, OWNER) == ([], 0)
    made = [
        S.create_session(services, OWNER, params(f"scene number {i}"), idempotency_key=key())[0]
        for i in range(13)
    ]
    first, total = S.list_sessions(services, OWNER)
    second, _ = S.list_sessions(services, OWNER, page=2)
    assert total == 13 and len(first) == 12 and len(second) == 1
    newest_first = [s.id for s in reversed(made)]
    assert [c.id for c in first + second] == newest_first
    assert all(c.generation_count == 1 and c.active_count == 1 for c in first)
    assert first[0].thumbnail is None  # nothing rendered yet

    run_all(services)
    S.iterate(
        services,
        OWNER,
        made[0].id,
        _only_step(services, made[0].id),
        params("again"),
        idempotency_key=key(),
    )
    cards, _ = S.list_sessions(services, OWNER)
    assert cards[0].id == made[0].id  # iterating bumps the session to the top
    assert cards[0].generation_count == 2 and cards[0].active_count == 1
    assert all(c.thumbnail is not None and c.thumbnail.thumbnail_key for c in cards)


def _only_step(services: Services, session_id: str) -> str:
    return S.get_session(services, OWNER, session_id).generations[0].id


def test_list_sessions_uses_two_queries_whatever_the_page(services: Services) -> None:
    for i in range(5):
        S.create_session(services, OWNER, params(f"p{i}"), idempotency_key=key())
    run_all(services)
    with count_statements(services) as few:
        S.list_sessions(services, OWNER, per_page=2)
    with count_statements(services) as many:
        S.list_sessions(services, OWNER, per_page=5)
    assert len(few) == len(many) <= 4


def test_tree_with_branches_keeps_every_step(services: Services) -> None:
    view = started(services)
    one = step(view, 1).id
    two = S.iterate(services, OWNER, view.id, one, params("the fox at dusk"), idempotency_key=key())
    run_all(services)
    three = S.iterate(
        services, OWNER, view.id, two.id, params("the fox asleep"), idempotency_key=key()
    )
    run_all(services)
    # branch from the old first step: both branches stay
    four = S.iterate(services, OWNER, view.id, one, params("a blue fox"), idempotency_key=key())
    run_all(services)

    view = S.get_session(services, OWNER, view.id)
    assert [g.step for g in view.generations] == [1, 2, 3, 4]
    assert all(g.status == "succeeded" for g in view.generations)
    assert view.roots == [one]
    assert view.children == {one: [two.id, four.id], two.id: [three.id]}
    assert [(d, g.step) for d, g in view.walk()] == [(0, 1), (1, 2), (2, 3), (1, 4)]
    assert view.latest.id == four.id
    assert [g.step for g in view.outputs()] == [4, 3, 2, 1]
    # the parent's output is this step's input: same stored bytes, its own row
    parent_out, child_in = step(view, 1).output, step(view, 4).input
    assert child_in is not None and child_in.role == "input"
    assert child_in.key == parent_out.key and child_in.id != parent_out.id
    assert (two.mode, four.mode) == ("image_to_image", "image_to_image")
    assert two.params["width"] == 64 and two.parent_generation_id == one


def test_session_thumbnail_follows_newest_output(services: Services) -> None:
    view = started(services)
    first_out = step(view, 1).output
    assert view.thumbnail is not None and view.thumbnail.id == first_out.id
    assert first_out.thumbnail_key and services.storage.exists(
        first_out.bucket, first_out.thumbnail_key
    )
    S.iterate(
        services, OWNER, view.id, step(view, 1).id, params("night fox"), idempotency_key=key()
    )
    run_all(services)
    view = S.get_session(services, OWNER, view.id)
    assert view.thumbnail.id == step(view, 2).output.id != first_out.id
    assert view.session.updated_at > first_out.created_at


def test_get_session_query_count_does_not_grow(services: Services) -> None:
    small = started(services, "small")
    for _ in range(2):
        S.iterate(services, OWNER, small.id, step(small, 1).id, params("s"), idempotency_key=key())
    big = started(services, "big")
    for _ in range(29):
        S.iterate(services, OWNER, big.id, step(big, 1).id, params("b"), idempotency_key=key())
    run_all(services)
    with count_statements(services) as few:
        small_view = S.get_session(services, OWNER, small.id)
    with count_statements(services) as many:
        big_view = S.get_session(services, OWNER, big.id)
    assert len(small_view.generations) == 3 and len(big_view.generations) == 30
    assert all(g.output is not None and g.input is not None for g in big_view.generations[1:])
    assert len(few) == len(many) <= 6, many


def test_get_session_shows_running_stage_and_in_flight_state(services: Services) -> None:
    session, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    seen: dict[str, S.GenerationView] = {}

    def on_stage(job, stage):  # type: ignore[no-untyped-def]
        if stage == "generating":
            seen["g"] = S.get_session(services, OWNER, session.id).generations[0]

    process_next(services, "test", on_stage=on_stage)
    assert seen["g"].status == "running" and seen["g"].stage == "generating"
    assert S.get_session(services, OWNER, session.id).generations[0].stage is None


# ---------------------------------------------------------------------------------------------
# iterate, regenerate, duplicate
# ---------------------------------------------------------------------------------------------


def test_regenerate_uses_a_new_seed_and_the_same_parent(services: Services) -> None:
    view = started(services)
    two = S.iterate(
        services,
        OWNER,
        view.id,
        step(view, 1).id,
        params("the fox at dusk", seed=11, strength=0.3),
        idempotency_key=key(),
    )
    run_all(services)
    again = S.regenerate(services, OWNER, two.id, idempotency_key=key())
    assert again.step == 3 and again.parent_generation_id == two.parent_generation_id
    assert again.prompt == two.prompt and again.mode == two.mode
    assert again.params["seed"] != 11
    assert {k: v for k, v in again.params.items() if k != "seed"} == {
        k: v for k, v in two.params.items() if k != "seed"
    }
    run_all(services)
    view = S.get_session(services, OWNER, view.id)
    assert step(view, 3).status == "succeeded"
    assert step(view, 3).input.key == step(view, 2).input.key
    assert step(view, 3).input.id != step(view, 2).input.id


def test_regenerate_keeps_the_mask(services: Services) -> None:
    view = started(services)
    inpaint = S.iterate(
        services,
        OWNER,
        view.id,
        step(view, 1).id,
        params("a hat"),
        idempotency_key=key(),
        mask=left_half_mask(),
    )
    again = S.regenerate(services, OWNER, inpaint.id, idempotency_key=key())
    run_all(services)
    view = S.get_session(services, OWNER, view.id)
    assert again.mode == "inpaint"
    assert step(view, 3).mask.key == step(view, 2).mask.key
    assert step(view, 3).status == "succeeded"


def test_duplicate_params_fills_the_form(services: Services) -> None:
    original = params(
        "a castle", negative_prompt="fog", seed=42, strength=0.25, steps=20, guidance=7.5, n=2
    )
    _, gen = S.create_session(services, OWNER, original, idempotency_key=key())
    assert S.duplicate_params(services, OWNER, gen.id) == original


def test_iterate_from_an_uploaded_image(services: Services) -> None:
    view = started(services)
    gen = S.iterate(
        services,
        OWNER,
        view.id,
        None,
        params("make it sunny"),
        idempotency_key=key(),
        input_image=png(80, 48),
    )
    assert gen.parent_generation_id is None and gen.mode == "image_to_image"
    assert (gen.params["width"], gen.params["height"]) == (80, 48)
    run_all(services)
    view = S.get_session(services, OWNER, view.id)
    two = step(view, 2)
    assert two.status == "succeeded" and two.input.role == "input"
    assert (two.output.width, two.output.height) == (80, 48)
    assert view.roots == [step(view, 1).id, two.id]


def test_idempotency_key_makes_one_step(services: Services) -> None:
    k = key()
    s1, g1 = S.create_session(services, OWNER, params(), idempotency_key=k)
    s2, g2 = S.create_session(services, OWNER, params(), idempotency_key=k)
    assert (s1.id, g1.id) == (s2.id, g2.id)
    assert counts(services) == {
        "image_sessions": 1,
        "image_generations": 1,
        "image_assets": 0,
        "jobs": 1,
    }
    run_all(services)

    k2 = key()
    a = S.iterate(services, OWNER, s1.id, g1.id, params("x"), idempotency_key=k2)
    b = S.iterate(services, OWNER, s1.id, g1.id, params("x"), idempotency_key=k2)
    k3 = key()
    c = S.regenerate(services, OWNER, a.id, idempotency_key=k3)
    d = S.regenerate(services, OWNER, a.id, idempotency_key=k3)
    assert a.id == b.id and c.id == d.id
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(ImageGeneration)) == 3
        assert db.scalar(sa.select(sa.func.count()).select_from(Job)) == 3


def test_same_key_from_another_owner_is_another_request(services: Services) -> None:
    k = key()
    mine, _ = S.create_session(services, OWNER, params(), idempotency_key=k)
    theirs, _ = S.create_session(services, OTHER, params(), idempotency_key=k)
    assert mine.id != theirs.id and theirs.owner_id == OTHER


# ---------------------------------------------------------------------------------------------
# inpainting
# ---------------------------------------------------------------------------------------------


def test_inpaint_changes_only_the_masked_pixels(services: Services) -> None:
    view = started(services)
    parent = step(view, 1)
    gen = S.iterate(
        services,
        OWNER,
        view.id,
        parent.id,
        params("a glowing moon", strength=1.0),
        idempotency_key=key(),
        mask=left_half_mask(),
    )
    assert gen.mode == "inpaint"
    run_all(services)
    view = S.get_session(services, OWNER, view.id)
    child = step(view, 2)
    assert child.status == "succeeded" and child.mask is not None and child.mask.role == "mask"
    before, after = pixels(services, parent.output), pixels(services, child.output)
    assert np.array_equal(before[:, 32:], after[:, 32:])  # outside the mask: exactly the parent
    assert not np.array_equal(before[:, :32], after[:, :32])  # inside: changed


def test_inpaint_from_a_painted_canvas(services: Services) -> None:
    view = started(services)
    canvas = np.zeros((32, 32, 4), np.uint8)  # drawn at half size, as the page shows it
    canvas[:16, :, 3] = 255  # the top half painted
    gen = S.iterate(
        services,
        OWNER,
        view.id,
        step(view, 1).id,
        params("a comet", strength=1.0),
        idempotency_key=key(),
        mask_canvas=canvas,
    )
    assert gen.mode == "inpaint"
    run_all(services)
    view = S.get_session(services, OWNER, view.id)
    before, after = pixels(services, step(view, 1).output), pixels(services, step(view, 2).output)
    assert np.array_equal(before[32:], after[32:])
    # a blank canvas means no mask: plain image-to-image
    blank = np.zeros((32, 32, 4), np.uint8)
    plain = S.iterate(
        services,
        OWNER,
        view.id,
        step(view, 1).id,
        params("x"),
        idempotency_key=key(),
        mask_canvas=blank,
    )
    assert plain.mode == "image_to_image"


# ---------------------------------------------------------------------------------------------
# cancel and delete
# ---------------------------------------------------------------------------------------------


def test_cancel_queued_step_at_once(services: Services) -> None:
    session, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    assert S.cancel_generation(services, OWNER, gen.id) == "canceled"
    assert services.queue.get(gen.job_id).status == "canceled"
    assert process_next(services, "test") is None
    view = S.get_session(services, OWNER, session.id)
    assert view.generations[0].status == "canceled" and not view.active
    with pytest.raises(Invalid, match="already canceled"):
        S.cancel_generation(services, OWNER, gen.id)


def test_cancel_running_step_discards_its_result(services: Services) -> None:
    session, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    answers: list[str] = []

    def on_stage(job, stage):  # type: ignore[no-untyped-def]
        if stage == "generating":
            answers.append(S.cancel_generation(services, OWNER, gen.id))

    outcome = process_next(services, "test", on_stage=on_stage)
    assert answers == ["cancel_requested"]
    assert outcome is not None and outcome.status == "canceled"
    view = S.get_session(services, OWNER, session.id)
    assert view.generations[0].status == "canceled" and view.generations[0].outputs == []
    assert view.thumbnail is None
    assert services.queue.get(gen.job_id).status == "canceled"
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(ImageAsset)) == 0
        assert db.scalar(sa.select(sa.func.count()).select_from(UsageLedger)) == 0


def test_cancel_finished_step_is_refused(services: Services) -> None:
    view = started(services)
    with pytest.raises(Invalid, match="Step 1 has already succeeded; there is nothing to cancel."):
        S.cancel_generation(services, OWNER, step(view, 1).id)


def test_delete_only_failed_or_canceled_steps(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = started(services)
    with pytest.raises(
        Invalid, match="Only failed or canceled steps can be deleted; step 1 succeeded."
    ):
        S.delete_generation(services, OWNER, step(view, 1).id)

    queued = S.iterate(
        services,
        OWNER,
        view.id,
        step(view, 1).id,
        params("q"),
        idempotency_key=key(),
        mask=left_half_mask(),
    )
    with pytest.raises(Invalid, match="step 2 is still queued"):
        S.delete_generation(services, OWNER, queued.id)
    S.cancel_generation(services, OWNER, queued.id)
    before = counts(services)
    S.delete_generation(services, OWNER, queued.id)
    after = counts(services)
    assert after["image_generations"] == before["image_generations"] - 1
    assert after["image_assets"] == before["image_assets"] - 2  # its input and mask rows
    # the files stay: the parent's output still uses the same stored bytes
    parent_out = step(view, 1).output
    assert services.storage.exists(parent_out.bucket, parent_out.key)
    view = S.get_session(services, OWNER, view.id)
    assert [g.step for g in view.generations] == [1]


# ---------------------------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------------------------


def test_iterating_from_a_failed_step_is_refused(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.providers.base import ProviderError
    from studio.providers.local import LocalProvider

    view = started(services)
    bad = S.iterate(services, OWNER, view.id, step(view, 1).id, params("x"), idempotency_key=key())

    def refuse(self, model, request):  # type: ignore[no-untyped-def]
        raise ProviderError("permanent", "The model refused the prompt.")

    monkeypatch.setattr(LocalProvider, "generate_image", refuse)
    run_all(services)
    before = counts(services)
    with pytest.raises(Invalid) as exc:
        S.iterate(services, OWNER, view.id, bad.id, params("y"), idempotency_key=key())
    assert exc.value.user_message == "You can only iterate from a finished image; step 2 failed."
    assert counts(services) == before


def test_bad_inputs_are_refused_and_nothing_is_stored(services: Services, tmp_path: Path) -> None:
    view = started(services)
    parent = step(view, 1).id
    before = counts(services)
    media_before = sorted(p for p in (tmp_path / "media").rglob("*") if p.is_file())

    def refused(call, message: str, error: type[Exception] = Invalid) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(error) as exc:
            call()
        assert exc.value.user_message == message, exc.value.user_message  # type: ignore[attr-defined]

    refused(
        lambda: S.create_session(services, OWNER, params("   "), idempotency_key=key()),
        "Write a prompt first.",
    )
    refused(
        lambda: S.create_session(services, OWNER, params("x" * 5123), idempotency_key=key()),
        "The prompt is 5,123 characters; the limit is 4,000.",
    )
    refused(
        lambda: S.create_session(services, OWNER, params(provider="nope"), idempotency_key=key()),
        "Unknown provider 'nope'.",
    )
    refused(
        lambda: S.create_session(
            services, OWNER, params(provider="openai", model="gpt-image-1"), idempotency_key=key()
        ),
        "The provider OpenAI is off: OPENAI_API_KEY is not set.",
    )
    refused(
        lambda: S.create_session(services, OWNER, params(model="dalle"), idempotency_key=key()),
        "Offline renderer has no model 'dalle'; choose one of: sketch.",
    )
    refused(
        lambda: S.create_session(services, OWNER, params(model="motion"), idempotency_key=key()),
        "Offline motion makes videos, not images; choose another model.",
    )
    refused(
        lambda: S.create_session(services, OWNER, params(width=1001), idempotency_key=key()),
        "Width must be a multiple of 8 pixels (got 1001).",
    )
    refused(
        lambda: S.create_session(services, OWNER, params(n=5), idempotency_key=key()),
        "Make 1 to 4 images at a time (got 5).",
    )
    refused(
        lambda: S.create_session(services, OWNER, params(strength=1.5), idempotency_key=key()),
        "Strength must be between 0 and 1 (got 1.5).",
    )
    refused(
        lambda: S.iterate(
            services,
            OWNER,
            view.id,
            parent,
            params(),
            idempotency_key=key(),
            mask=left_half_mask(32, 32),
        ),
        "The mask is 32×32 but the image is 64×64; paint or upload a mask of the same size.",
        ImageRejected,
    )
    refused(
        lambda: S.iterate(
            services,
            OWNER,
            view.id,
            parent,
            params(),
            idempotency_key=key(),
            mask=png(64, 64, (0, 0, 0)),
        ),
        "The mask is empty: paint the area to change.",
        ImageRejected,
    )
    refused(
        lambda: S.iterate(
            services,
            OWNER,
            view.id,
            None,
            params(),
            idempotency_key=key(),
            input_image=b"GIF89a not really",
        ),
        "The file is damaged or incomplete.",
        ImageRejected,
    )
    refused(
        lambda: S.iterate(
            services,
            OWNER,
            view.id,
            None,
            params(),
            idempotency_key=key(),
            input_image=b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        ),
        "Vector drawings (SVG) are not supported; export the drawing as PNG, JPEG or WebP.",
        ImageRejected,
    )
    refused(
        lambda: S.iterate(services, OWNER, view.id, None, params(), idempotency_key=key()),
        "Choose an image to iterate from, or upload one.",
    )
    refused(
        lambda: S.iterate(
            services,
            OWNER,
            view.id,
            parent,
            params(""),
            idempotency_key=key(),
            input_image=png(64, 64),
        ),
        "Write a prompt first.",
    )
    assert counts(services) == before
    assert sorted(p for p in (tmp_path / "media").rglob("*") if p.is_file()) == media_before


def test_generations_per_hour_limit(tmp_path: Path, db_url: str, engine: sa.Engine) -> None:
    services = Services.build(
        make_settings(tmp_path, db_url, generations_per_hour=2), engine=engine, migrate=False
    )
    S.create_session(services, OWNER, params(), idempotency_key=key())
    S.create_session(services, OWNER, params(), idempotency_key=key())
    with pytest.raises(LimitExceeded, match="the limit is 2"):
        S.create_session(services, OWNER, params(), idempotency_key=key())
    S.create_session(services, OTHER, params(), idempotency_key=key())  # limits are per person


# ---------------------------------------------------------------------------------------------
# ownership, rename, download
# ---------------------------------------------------------------------------------------------


def test_another_owners_session_is_invisible(services: Services) -> None:
    view = started(services)
    gen_id = step(view, 1).id
    failed = S.iterate(services, OWNER, view.id, gen_id, params("x"), idempotency_key=key())
    S.cancel_generation(services, OWNER, failed.id)
    before = counts(services)

    assert S.list_sessions(services, OTHER) == ([], 0)
    session_msg = "That session does not exist or is not yours."
    step_msg = "That step does not exist or is not yours."
    calls = [
        (lambda: S.get_session(services, OTHER, view.id), session_msg),
        (lambda: S.get_session(services, OTHER, "no-such-id"), session_msg),
        (
            lambda: S.iterate(services, OTHER, view.id, gen_id, params(), idempotency_key=key()),
            session_msg,
        ),
        (lambda: S.rename_session(services, OTHER, view.id, "mine now"), session_msg),
        (lambda: S.regenerate(services, OTHER, gen_id, idempotency_key=key()), step_msg),
        (lambda: S.duplicate_params(services, OTHER, gen_id), step_msg),
        (lambda: S.cancel_generation(services, OTHER, gen_id), step_msg),
        (lambda: S.delete_generation(services, OTHER, failed.id), step_msg),
        (lambda: S.download_bytes(services, OTHER, gen_id), step_msg),
    ]
    for call, message in calls:
        with pytest.raises(NotFound) as exc:
            call()
        assert exc.value.user_message == message
    assert counts(services) == before
    assert S.get_session(services, OWNER, view.id).title == view.title


def test_iterate_from_another_sessions_step_is_refused(services: Services) -> None:
    a, b = started(services, "a"), started(services, "b")
    with pytest.raises(NotFound, match="not part of this session"):
        S.iterate(services, OWNER, a.id, step(b, 1).id, params(), idempotency_key=key())


def test_rename_session(services: Services) -> None:
    view = started(services)
    renamed = S.rename_session(services, OWNER, view.id, "  Foxes \n in snow ")
    assert renamed.title == "Foxes in snow"
    assert S.get_session(services, OWNER, view.id).title == "Foxes in snow"
    with pytest.raises(Invalid, match="Give the session a title."):
        S.rename_session(services, OWNER, view.id, "  ")
    with pytest.raises(Invalid, match="The title is 201 characters; the limit is 200."):
        S.rename_session(services, OWNER, view.id, "t" * 201)


def test_download_embeds_the_parameters(services: Services) -> None:
    session, gen = S.create_session(
        services, OWNER, params("A fox, in snow!", seed=99), idempotency_key=key()
    )
    with pytest.raises(Invalid, match="Step 1 has no image to download yet."):
        S.download_bytes(services, OWNER, gen.id)
    run_all(services)
    name, data = S.download_bytes(services, OWNER, gen.id)
    assert name == "a-fox-in-snow-step-1.png"
    embedded = read_parameters(data)
    assert embedded is not None
    assert embedded["prompt"] == "A fox, in snow!" and embedded["seed"] == 99
    assert embedded["model"] == "sketch" and embedded["step"] == 1
    stored = pixels(services, S.get_session(services, OWNER, session.id).generations[0].output)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), stored)
    # the embedded parameters can fill the form again
    again = S.GenerationParams.from_mapping(embedded)
    assert (again.prompt, again.seed, again.width) == ("A fox, in snow!", 99, 64)


# ---------------------------------------------------------------------------------------------
# concurrency
# ---------------------------------------------------------------------------------------------


def _together(n: int, fn) -> list:  # type: ignore[no-untyped-def]
    """Run fn() from n threads released at once; returns results (or raised exceptions)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def go(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_double_submit_from_many_threads_makes_one_session(services: Services) -> None:
    k = key()
    results = _together(8, lambda: S.create_session(services, OWNER, params(), idempotency_key=k))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({(s.id, g.id) for s, g in results}) == 1
    assert counts(services) == {
        "image_sessions": 1,
        "image_generations": 1,
        "image_assets": 0,
        "jobs": 1,
    }


def test_concurrent_iterations_get_distinct_steps(services: Services) -> None:
    view = started(services)
    parent = step(view, 1).id
    results = _together(
        6, lambda: S.iterate(services, OWNER, view.id, parent, params("x"), idempotency_key=key())
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(g.step for g in results) == [2, 3, 4, 5, 6, 7]
