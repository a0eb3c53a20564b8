"""Bench: page reruns per mask stroke on the Session page, in a real browser.

The real app (offline renderer, embedded worker, scratch SQLite) in headless Chromium: one
session with a finished image, "Paint a mask", then strokes drawn on the canvas with the mouse.
Every `rerun_script` message the page's websocket sends during the strokes is a rerun (of the
page or of a fragment of it); the painted mask must reach the server only with the form's
submission, which is checked at the end (the inpainted step has a mask). Goal: 0 per stroke.

    .venv/bin/python bench/mask_painting.py [--strokes 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from support.browser_app import browser_page, running_app  # noqa: E402

from db.engine import make_engine  # noqa: E402
from db.schema import ImageAsset, ImageGeneration  # noqa: E402
from tests.helpers.browser import Reruns, settle, wait_for_image  # noqa: E402

PAUSE_S = 0.4  # after each stroke: time for a canvas outside the form to send its layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=20)
    args = parser.parse_args()
    with running_app() as (url, db_url), browser_page() as page:
        reruns = Reruns(page)
        page.goto(url)
        prompt = page.get_by_placeholder("Describe the image you want", exact=False)
        prompt.fill("a lighthouse on a cliff at dusk")
        prompt.press("Control+Enter")
        wait_for_image(page, "Image of step 1:")
        settle(page)
        page.get_by_text("Paint a mask", exact=True).click()
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for()
        settle(page)
        time.sleep(1.0)
        box = canvas.bounding_box()
        before = len(reruns.sent)
        for stroke in range(args.strokes):
            x0 = box["x"] + box["width"] * 0.15
            y0 = box["y"] + box["height"] * (0.1 + 0.8 * stroke / max(1, args.strokes))
            page.mouse.move(x0, y0)
            page.mouse.down()
            for k in range(1, 16):
                page.mouse.move(x0 + k * box["width"] * 0.04, y0 + k)
            page.mouse.up()
            time.sleep(PAUSE_S)
        during = reruns.sent[before:]
        page.get_by_placeholder("What should change?", exact=False).fill("a red boat")
        page.get_by_role("button", name="Generate", exact=True).click()
        wait_for_image(page, "Image of step 2:")
        engine = make_engine(db_url)
        with engine.connect() as conn:
            masks = conn.execute(
                sa.select(sa.func.count())
                .select_from(ImageAsset)
                .join(ImageGeneration, ImageGeneration.id == ImageAsset.generation_id)
                .where(ImageGeneration.step == 2, ImageAsset.role == "mask")
            ).scalar_one()
        engine.dispose()
    if masks != 1:
        raise SystemExit("the painted mask did not reach the inpainting step")
    page_reruns = sum(1 for f in during if not f)
    print(
        f"inputs: {args.strokes} freehand strokes on the Session page's canvas in headless "
        f"Chromium, {PAUSE_S} s apart; then Generate (the inpainted step got the mask)"
    )
    print(
        f"rerun requests during the strokes: {len(during)} ({page_reruns} of the whole page, "
        f"{len(during) - page_reruns} of fragments)"
    )
    print(f"RESULT reruns_per_stroke={len(during) / args.strokes:.2f}")


if __name__ == "__main__":
    main()
