"""The session studio in a real browser: prompt → image → iterate → two steps in the history →
paint a mask on the canvas (strokes rerun nothing) → inpaint; the stored result equals its
parent outside the mask."""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, ImageGeneration
from studio.config import Settings
from studio.services import Services
from tests.e2e.conftest import ARTIFACTS, Reruns, doc_screenshot, settle

pytestmark = [pytest.mark.browser, pytest.mark.embedded_worker]


def _wait_for_step(page, step: int, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    """The tree shows `step` as succeeded (the page refreshes itself while work runs)."""
    page.get_by_role("button", name=f"Step {step}", exact=False).first.wait_for(
        timeout=timeout_s * 1000
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (
            page.get_by_role("heading", name=f"Step {step} ·").count()
            and page.get_by_text("succeeded", exact=False).count() >= step
        ):
            return
        time.sleep(0.5)
    raise AssertionError(f"step {step} did not finish")


def _generate(page) -> None:  # type: ignore[no-untyped-def]
    # (older Streamlit versions read the button's icon into its name: "auto_awesome Generate")
    page.get_by_role("button", name=re.compile(r"\bGenerate$")).click()


def test_prompt_iterate_paint_mask_and_inpaint(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1400, "height": 2400})
    reruns = Reruns(page)
    page.goto(studio_app.url)
    prompt = page.get_by_placeholder("Describe the image you want", exact=False)
    prompt.fill("a lighthouse on a cliff at dusk")
    prompt.press("Control+Enter")

    page.get_by_role("heading", name="a lighthouse on a cliff at dusk").wait_for(timeout=30_000)
    assert "session=" in page.url
    _wait_for_step(page, 1)
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "session-1-first-image.png"), full_page=True)

    page.get_by_placeholder("What should change?", exact=False).fill("the same, in winter")
    _generate(page)
    _wait_for_step(page, 2)
    settle(page)
    tree = page.get_by_text("2 steps · branches indented", exact=False).first
    tree.wait_for()
    page.screenshot(path=str(ARTIFACTS / "session-2-iterated.png"), full_page=True)

    page.get_by_text("Paint a mask", exact=True).click()
    settle(page)
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for()
    box = canvas.bounding_box()
    assert box is not None
    before = len(reruns.sent)
    for stroke in range(3):  # three strokes, none of which reruns anything
        x0 = box["x"] + box["width"] * 0.2
        y0 = box["y"] + box["height"] * (0.3 + 0.05 * stroke)
        page.mouse.move(x0, y0)
        page.mouse.down()
        for k in range(1, 25):
            page.mouse.move(x0 + k * box["width"] * 0.02, y0 + k * box["height"] * 0.01)
        page.mouse.up()
        time.sleep(0.5)  # a canvas outside the form would have sent its layer by now
    assert reruns.sent[before:] == [], "painting reran the page"
    page.screenshot(path=str(ARTIFACTS / "session-3-mask-painted.png"), full_page=True)
    page.get_by_placeholder("What should change?", exact=False).fill("a red boat")
    _generate(page)
    _wait_for_step(page, 3)
    settle(page)
    page.get_by_text("3 steps · branches indented", exact=False).first.wait_for()
    page.get_by_text("Show the mask").click()
    time.sleep(1)
    page.screenshot(path=str(ARTIFACTS / "session-4-inpainted.png"), full_page=True)
    doc_screenshot(page, "session.png")

    services = Services.build(
        Settings(
            _env_file=None,
            database_url=studio_app.db_url,  # type: ignore[call-arg]
            storage_url=str(studio_app.media),
            embedded_worker=False,
        ),
        migrate=False,
    )
    with services.db() as db:
        gens = {g.step: g for g in db.scalars(sa.select(ImageGeneration)).all()}
        assert all(gens[s].completed_at is not None for s in (1, 2, 3)), "all three produced"
        assert gens[2].parent_generation_id == gens[1].id and gens[2].mode == "image_to_image"
        assert gens[3].parent_generation_id == gens[2].id and gens[3].mode == "inpaint"
        rows = db.scalars(
            sa.select(ImageAsset).where(ImageAsset.generation_id.in_([gens[2].id, gens[3].id]))
        ).all()
        by = {(a.generation_id, a.role): a for a in rows}
        parent_out = services.storage.get(*_loc(by[(gens[2].id, "output")]))
        out = services.storage.get(*_loc(by[(gens[3].id, "output")]))
        mask = services.storage.get(*_loc(by[(gens[3].id, "mask")]))
    parent_px = np.asarray(Image.open(io.BytesIO(parent_out)).convert("RGB"))
    out_px = np.asarray(Image.open(io.BytesIO(out)).convert("RGB"))
    mask_px = np.asarray(Image.open(io.BytesIO(mask)).convert("L")) >= 128
    assert mask_px.shape == parent_px.shape[:2]
    assert 0.002 < mask_px.mean() < 0.5, "the painted stroke became the mask"
    assert np.array_equal(out_px[~mask_px], parent_px[~mask_px]), "outside the mask: unchanged"
    assert not np.array_equal(out_px[mask_px], parent_px[mask_px]), "inside the mask: changed"
    services.engine.dispose()


def _loc(asset: ImageAsset) -> tuple[str, str]:
    return asset.bucket, asset.key
