"""Bench: from a click on Generate to the finished image on screen, in a real browser.

The real app (`streamlit run app.py`, offline renderer, embedded worker, scratch SQLite) is
driven by headless Chromium. Each click is timed until the new step's image is visible and
decoded: first steps (Home's prompt, Ctrl+Enter, which opens the Session page) and iterations
(the Session page's Generate). The render's own time is the step's recorded duration (the
worker loading the step, rendering and storing the image); the overhead is what the user waits
beyond it (the wake-up of the worker, the page noticing, the rerun, the browser drawing).
Goal: p95 <= 1.0 s.

    .venv/bin/python bench/click_to_image.py [--clicks 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from support.browser_app import browser_page, running_app  # noqa: E402

from db.engine import make_engine  # noqa: E402
from db.schema import ImageGeneration  # noqa: E402
from tests.helpers.browser import settle, wait_for_image  # noqa: E402

ITERATIONS_PER_SESSION = 4  # each session: one first step, then this many iterations


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def render_seconds(db_url: str) -> list[float]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        ms = conn.execute(
            sa.select(ImageGeneration.duration_ms).order_by(ImageGeneration.created_at)
        ).scalars()
        out = [m / 1000 for m in ms if m is not None]
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=20)
    args = parser.parse_args()
    waits: list[float] = []
    kinds: list[str] = []
    with running_app() as (url, db_url), browser_page() as page:
        page.goto(url)
        page.get_by_role("heading", name="Image Studio").wait_for()
        session = 0
        while len(waits) < args.clicks:
            session += 1
            page.goto(url)
            prompt = page.get_by_placeholder("Describe the image you want", exact=False)
            prompt.fill(f"a lighthouse on a cliff at dusk, take {session}")
            start = time.monotonic()
            prompt.press("Control+Enter")
            wait_for_image(page, "Image of step 1:")
            waits.append(time.monotonic() - start)
            kinds.append("first")
            for step in range(2, 2 + ITERATIONS_PER_SESSION):
                if len(waits) >= args.clicks:
                    break
                settle(page)
                page.get_by_placeholder("What should change?", exact=False).fill(
                    f"the same, variation {step}"
                )
                start = time.monotonic()
                page.get_by_role("button", name="Generate", exact=True).click()
                wait_for_image(page, f"Image of step {step}:")
                waits.append(time.monotonic() - start)
                kinds.append("iteration")
        renders = render_seconds(db_url)[: len(waits)]
    overheads = [w - r for w, r in zip(waits, renders, strict=False)]
    first = [w for w, k in zip(waits, kinds, strict=True) if k == "first"]
    later = [w for w, k in zip(waits, kinds, strict=True) if k == "iteration"]
    print(
        f"inputs: {len(waits)} clicks in headless Chromium ({len(first)} first steps from Home, "
        f"{len(later)} iterations on the Session page), offline renderer at 1024x1024, "
        "embedded worker, SQLite"
    )
    print(
        f"click to image visible: p50 {statistics.median(waits):.3f} s, p95 {p95(waits):.3f} s "
        f"(first steps p50 {statistics.median(first):.3f} s"
        + (f", iterations p50 {statistics.median(later):.3f} s)" if later else ")")
    )
    print(
        f"render (the step's own duration) p50 {statistics.median(renders):.3f} s; "
        f"overhead p95 {p95(overheads):.3f} s"
    )
    print(
        f"RESULT p50_s={statistics.median(waits):.3f} p95_s={p95(waits):.3f} "
        f"render_p50_s={statistics.median(renders):.3f} overhead_p95_s={p95(overheads):.3f}"
    )


if __name__ == "__main__":
    main()
