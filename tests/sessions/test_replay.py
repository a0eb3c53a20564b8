"""Replaying a branch on another model, on both databases: the whole path from the root runs
again in order, each step from the previous replayed output, with its masks, prompts, seeds and
strengths; the estimate is checked against the budget first; cancel, fail, requeue and skip."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageGeneration, Job
from studio import sessions as S
from studio.errors import Invalid, LimitExceeded
from studio.jobs.worker import process_next
from studio.providers.base import ImageRequest, ImageResult, ProviderError
from studio.providers.local import LocalProvider
from studio.providers.registry import ProviderStatus
from studio.services import Services

OWNER = "alice"
PRICE = 0.02


@dataclass
class OtherRenderer:
    """Another (priced) provider: the offline renderer at 48×48, failing on demand."""

    name: str = "other"
    label: str = "Other renderer"
    fail_on: set[str] = field(default_factory=set)
    prompts: list[str] = field(default_factory=list)
    _inner: LocalProvider = field(default_factory=LocalProvider)

    def models(self):  # type: ignore[no-untyped-def]
        return self._inner.models()

    def estimate_cost(self, model, request):  # type: ignore[no-untyped-def]
        return PRICE

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        self.prompts.append(request.prompt)
        if request.prompt in self.fail_on:
            raise ProviderError("permanent", "refused", provider=self.name)
        small = ImageRequest(**{**request.__dict__, "width": 48, "height": 48})
        result = self._inner.generate_image(model, small)
        result.cost_actual = PRICE
        return result


@pytest.fixture
def other(services: Services) -> OtherRenderer:
    provider = OtherRenderer()
    services.providers = [
        *services.providers,
        ProviderStatus("other", "Other renderer", True, "for tests", provider),  # type: ignore[arg-type]
    ]
    return provider


def mask_png() -> bytes:
    arr = np.zeros((64, 64), np.uint8)
    arr[:, :32] = 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def run_all(services: Services) -> None:
    while process_next(services, "test") is not None:
        pass


def key() -> str:
    return str(uuid.uuid4())


def p(prompt: str, **kw: object) -> S.GenerationParams:
    return S.GenerationParams(prompt=prompt, width=64, height=64, **kw)  # type: ignore[arg-type]


def branch(services: Services) -> tuple[str, list[S.GenerationView]]:
    """Four steps on the offline renderer: text, image-to-image, inpaint (masked), image."""
    session, first = S.create_session(services, OWNER, p("one", seed=11), idempotency_key=key())
    run_all(services)
    parent = first.id
    for prompt, seed, mask in (("two", 12, None), ("three", 13, mask_png()), ("four", 14, None)):
        gen = S.iterate(
            services,
            OWNER,
            session.id,
            parent,
            p(prompt, seed=seed, strength=0.4),
            idempotency_key=key(),
            mask=mask,
        )
        run_all(services)
        parent = gen.id
    return session.id, S.get_session(services, OWNER, session.id).generations


def test_a_four_step_branch_with_a_mask_replays_in_order(
    services: Services, other: OtherRenderer
) -> None:
    sid, old = branch(services)
    plan = S.plan_replay(services, OWNER, old[3].id, provider="other", model="sketch")
    assert [g.step for g in plan.steps] == [1, 2, 3, 4]
    assert plan.total == pytest.approx(4 * PRICE) and plan.priced
    new = S.replay_branch(
        services, OWNER, old[3].id, provider="other", model="sketch", idempotency_key="r"
    )
    assert [g.step for g in new] == [5, 6, 7, 8]
    again = S.replay_branch(
        services, OWNER, old[3].id, provider="other", model="sketch", idempotency_key="r"
    )
    assert [g.id for g in again] == [g.id for g in new]  # the same submission: one replay
    run_all(services)
    assert other.prompts == ["one", "two", "three", "four"]  # in order
    steps = {g.step: g for g in S.get_session(services, OWNER, sid).generations}
    for original, replayed in zip(old, (steps[n] for n in (5, 6, 7, 8)), strict=True):
        g, o = replayed.generation, original.generation
        assert replayed.status == "succeeded" and g.provider == "other"
        assert (g.prompt, g.mode, g.params["seed"]) == (o.prompt, o.mode, o.params["seed"])
        assert g.params.get("strength") == o.params.get("strength")
    assert steps[5].parent_id is None
    for n in (6, 7, 8):  # each from the previous replayed output
        assert steps[n].parent_id == steps[n - 1].id
        assert steps[n].input.sha256 == steps[n - 1].output.sha256
    assert steps[7].mask.sha256 == old[2].mask.sha256 and steps[5].mask is None
    assert steps[7].generation.mask_outside_changed == 0  # the mask held (fitted to 48×48)
    assert steps[8].generation.path_cost == pytest.approx(4 * PRICE)
    assert [steps[n].generation.path_cost for n in (5, 6, 7)] == pytest.approx(
        [PRICE, 2 * PRICE, 3 * PRICE]
    )
    assert old[3].generation.path_cost == 0  # the original branch is untouched (free)


def test_a_replay_over_budget_is_refused_before_anything_is_queued(
    services: Services, other: OtherRenderer
) -> None:
    _, old = branch(services)
    services.settings = services.settings.model_copy(update={"daily_budget_usd": 0.05})
    with services.db() as db:
        before = db.scalar(sa.select(sa.func.count()).select_from(Job))
    with pytest.raises(LimitExceeded):
        S.replay_branch(
            services, OWNER, old[3].id, provider="other", model="sketch", idempotency_key="r"
        )
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Job)) == before
        assert db.scalar(sa.select(sa.func.count()).select_from(ImageGeneration)) == 4


def test_a_failing_step_holds_the_rest_until_skipped_or_requeued(
    services: Services, other: OtherRenderer
) -> None:
    sid, old = branch(services)
    other.fail_on = {"two"}
    new = S.replay_branch(
        services, OWNER, old[3].id, provider="other", model="sketch", idempotency_key="r"
    )
    run_all(services)
    assert other.prompts == ["one", "two"]  # three and four wait behind the failure
    steps = {g.step: g for g in S.get_session(services, OWNER, sid).generations}
    assert [steps[n].status for n in (5, 6, 7, 8)] == ["succeeded", "failed", "queued", "queued"]
    S.requeue_or_skip(services, OWNER, new[1].id, skip=False)  # fails again
    run_all(services)
    assert other.prompts[-1] == "two" and len(other.prompts) == 3
    S.requeue_or_skip(services, OWNER, new[1].id, skip=True)
    run_all(services)
    assert other.prompts[3:] == ["three", "four"]
    steps = {g.step: g for g in S.get_session(services, OWNER, sid).generations}
    assert steps[6].status == "canceled"
    assert steps[7].input.sha256 == steps[5].output.sha256  # the nearest earlier image
    assert steps[8].status == "succeeded"


def test_canceling_a_replay_cancels_what_has_not_run(
    services: Services, other: OtherRenderer
) -> None:
    sid, old = branch(services)
    new = S.replay_branch(
        services, OWNER, old[3].id, provider="other", model="sketch", idempotency_key="r"
    )
    process_next(services, "test")  # the first step runs
    assert S.cancel_replay(services, OWNER, new[2].id) == 3
    run_all(services)
    steps = {g.step: g for g in S.get_session(services, OWNER, sid).generations}
    assert [steps[n].status for n in (5, 6, 7, 8)] == [
        "succeeded",
        "canceled",
        "canceled",
        "canceled",
    ]
    with pytest.raises(Invalid):
        S.cancel_replay(services, OWNER, old[0].id)  # not a replay
