"""Export a song and a storyboard as zips (studio/lifecycle/exports.py)."""

from __future__ import annotations

import io
import json
import zipfile

from studio import songs
from studio import storyboards as sb
from studio.imaging import read_parameters
from studio.jobs.worker import process_next
from studio.lifecycle import exports
from studio.services import Services

OWNER = "alice"


def run_all(services: Services) -> None:
    while process_next(services, "test") is not None:
        pass


def test_a_song_exports_its_verses_illustrations_and_prompts(services: Services) -> None:
    song = songs.create_song_draft(
        services, OWNER, title="Lanterns", tags="night", idempotency_key="s1",
        text="Lanterns on the water\n\nThe boats come home",
    )  # fmt: skip
    run_all(services)
    name, data = exports.export_song(services, OWNER, song.id)
    assert name == "lanterns.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        body = json.loads(zf.read("song.json"))
        assert body["title"] == "Lanterns" and body["tags"] == ["night"]
        assert [v["text"] for v in body["verses"]] == [
            "Lanterns on the water",
            "The boats come home",
        ]
        for verse in body["verses"]:
            assert verse["status"] == "succeeded" and verse["prompt"]
            embedded = read_parameters(zf.read(verse["illustration"]))
            assert embedded is not None and embedded["prompt"] == verse["prompt"]


def test_a_storyboard_exports_entities_and_their_current_and_past_images(
    services: Services,
) -> None:
    board = sb.create_storyboard(services, OWNER, "The Lighthouse")
    scene = sb.add_entity(services, OWNER, board.id, kind="scene", name="Cliff")
    sb.request_image(services, OWNER, prompt="A cliff at dawn", entity_id=scene.id,
                     idempotency_key="i1")  # fmt: skip
    run_all(services)
    sb.request_image(services, OWNER, prompt="A cliff at night", entity_id=scene.id,
                     idempotency_key="i2")  # fmt: skip
    run_all(services)
    name, data = exports.export_storyboard(services, OWNER, board.id)
    assert name == "the-lighthouse.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        body = json.loads(zf.read("storyboard.json"))
        [entity] = body["entities"]
        assert (entity["kind"], entity["name"]) == ("scene", "Cliff")
        assert [r["prompt"] for r in entity["requests"]] == ["A cliff at night", "A cliff at dawn"]
        assert entity["image"] == entity["requests"][0]["file"]  # the current one
        for request in entity["requests"]:
            embedded = read_parameters(zf.read(request["file"]))
            assert embedded is not None and embedded["prompt"] == request["prompt"]
