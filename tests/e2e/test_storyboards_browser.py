"""The Storyboards page in headless Chromium with the app's embedded worker: create a storyboard
with a scene, generate its image, animate it, and watch the video play."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

JOB_TIMEOUT_MS = 90_000  # the embedded worker renders offline; generous for a busy CI box


@pytest.mark.embedded_worker
def test_storyboard_scene_image_then_animate_plays(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(studio_app.url)
    page.get_by_role("heading", name="Image Studio").wait_for()
    page.get_by_role("link", name="Storyboards").click()
    page.get_by_role("heading", name="Storyboards").wait_for()
    page.get_by_text("No storyboards yet.").wait_for()

    page.get_by_label("Title").fill("The Lighthouse")
    page.get_by_role("button", name="Create storyboard").click()
    page.get_by_role("heading", name="The Lighthouse").wait_for()

    page.get_by_label("Name").fill("Cliff at dusk")
    page.get_by_label("Description").fill("A lighthouse on a cliff at sunset, waves below")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("heading", name="Cliff at dusk").wait_for()
    page.screenshot(path=str(ARTIFACTS / "storyboard-scene-added.png"), full_page=True)

    scene = page.locator("[class*='st-key-sb-entity-']").first
    animate = scene.get_by_role("button", name="Animate image")
    assert animate.is_disabled()  # nothing to animate yet

    scene.get_by_role("button", name="Image from text").click()
    scene.get_by_role("img").first.wait_for(timeout=JOB_TIMEOUT_MS)
    scene.get_by_text("Generated ").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "storyboard-image.png"), full_page=True)

    scene.get_by_role("radio", name="4 s").click()
    scene.get_by_role("textbox", name="Prompt").fill("The beam sweeps slowly over the sea")
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some("
        "b => b.innerText.includes('Animate image') && !b.disabled)"
    )
    scene.get_by_role("button", name="Animate image").click()
    video = scene.locator("video").first
    video.wait_for(timeout=JOB_TIMEOUT_MS)

    # The browser decoded the clip: it has data for the current frame (readyState >= 2) ...
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }",
        timeout=30_000,
    )
    # ... and plays it.
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.currentTime > 0.5; }",
        timeout=30_000,
    )
    state = page.evaluate(
        "() => { const v = document.querySelector('video');"
        " return {ready: v.readyState, duration: v.duration, w: v.videoWidth, h: v.videoHeight,"
        " paused: v.paused}; }"
    )
    assert state["ready"] >= 2 and not state["paused"]
    assert state["duration"] == pytest.approx(4.0, abs=0.3)
    assert (state["w"], state["h"]) == (640, 360)  # 16:9 at the offline preview size
    scene.get_by_text("animated image").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "storyboard-animated.png"), full_page=True)
