"""Find anything, on both databases: one search over session prompts, song verses and their
prompts, storyboard scenes and characters and requests; only the searcher's own work; exact
matches first; kept current by the writes (and deletes) themselves; recent prompts."""

from __future__ import annotations

import uuid

import pytest

from studio import search, songs
from studio import sessions as S
from studio import storyboards as sb
from studio.jobs.worker import process_next
from studio.search import SearchFilters
from studio.services import Services

OWNER = "alice"
OTHER = "mallory"


def key() -> str:
    return str(uuid.uuid4())


def run_all(services: Services) -> None:
    while process_next(services, "test") is not None:
        pass


def step(services: Services, owner: str, prompt: str) -> S.GenerationParams:
    params = S.GenerationParams(prompt=prompt, width=64, height=64)
    S.create_session(services, owner, params, idempotency_key=key())
    return params


@pytest.fixture
def work(services: Services) -> dict[str, str]:
    """A step, a song and a storyboard of Alice's, each with the word "lighthouse"; the same
    word in Mallory's step."""
    step(services, OWNER, "a lighthouse in a storm at night")
    step(services, OTHER, "mallory's lighthouse")
    song = songs.create_song_draft(
        services,
        OWNER,
        title="Harbour",
        tags=None,
        text="The lighthouse keeps the harbour\n\nWaves come home at dawn",
        idempotency_key=key(),
    )
    board = sb.create_storyboard(services, OWNER, "Coast")
    scene = sb.add_entity(
        services, OWNER, board.id, kind="scene", name="Cliff", description="under the lighthouse"
    )
    sb.add_entity(services, OWNER, board.id, kind="character", name="Lighthouse keeper")
    run_all(services)
    return {"song": song.id, "board": board.id, "scene": scene.id}


def test_a_word_is_found_in_each_domain_and_only_the_owners(
    services: Services, work: dict[str, str]
) -> None:
    hits = search.search(services, OWNER, "lighthouse")
    kinds = sorted(h.kind for h in hits)
    assert kinds == ["character", "scene", "step", "verse", "verse_prompt"]
    assert all("mallory" not in h.text for h in hits)
    assert [h.kind for h in search.search(services, OTHER, "lighthouse")] == ["step"]
    assert search.search(services, OTHER, "harbour") == []
    verse = next(h for h in hits if h.kind == "verse")
    assert verse.container_id == work["song"] and verse.position == 1
    assert verse.container_title == "Harbour" and verse.thumbnail is not None
    scene = next(h for h in hits if h.kind == "scene")
    assert scene.item_id == work["scene"] and scene.container_id == work["board"]
    found_step = next(h for h in hits if h.kind == "step")
    assert found_step.position == 1 and found_step.status == "succeeded"
    assert found_step.thumbnail is not None and found_step.provider == "local"


def test_exact_matches_come_first(services: Services) -> None:
    step(services, OWNER, "red fox")
    step(services, OWNER, "a fox that is red")
    step(services, OWNER, "the red fox sleeps")
    run_all(services)
    texts = [h.text for h in search.search(services, OWNER, "Red  fox")]
    assert texts[0] == "red fox"  # the whole text
    assert texts[1] == "the red fox sleeps"  # the words as typed
    assert texts[2] == "a fox that is red"  # every word, in another order
    assert [h.exact for h in search.search(services, OWNER, "red fox")] == [True, True, False]


def test_filters_and_prefixes(services: Services, work: dict[str, str]) -> None:
    only_steps = search.search(services, OWNER, "lightho", SearchFilters(kinds=("step",)))
    assert [h.kind for h in only_steps] == ["step"]  # the last word matches as a prefix
    assert search.search(services, OWNER, "lighthouse", SearchFilters(model="nope")) == []
    done = search.search(services, OWNER, "lighthouse", SearchFilters(status="succeeded"))
    assert sorted(h.kind for h in done) == ["step", "verse", "verse_prompt"]
    assert search.search(services, OWNER, "lighthouse", SearchFilters(status="failed")) == []
    assert (
        search.search(services, OWNER, "   ") == [] and search.search(services, OWNER, "**") == []
    )


def test_the_index_follows_edits_and_deletes(services: Services, work: dict[str, str]) -> None:
    sb.update_entity(services, OWNER, work["scene"], name="Beach", description="sand dunes")
    assert [h.kind for h in search.search(services, OWNER, "dunes")] == ["scene"]
    assert "scene" not in [h.kind for h in search.search(services, OWNER, "lighthouse")]
    sb.delete_entity(services, OWNER, work["scene"])
    assert search.search(services, OWNER, "dunes") == []


def test_recent_prompts_newest_first_and_searchable(services: Services) -> None:
    for prompt in ["a cat", "a dog", "a cat", "a bird on a wire"]:
        step(services, OWNER, prompt)
    step(services, OTHER, "not yours")
    assert search.recent_prompts(services, OWNER) == ["a bird on a wire", "a cat", "a dog"]
    assert search.recent_prompts(services, OWNER, "wire") == ["a bird on a wire"]
    assert search.recent_prompts(services, OWNER, limit=1) == ["a bird on a wire"]


def test_work_in_recently_deleted_is_not_found_until_restored(
    services: Services, work: dict[str, str]
) -> None:
    from studio.lifecycle import trash

    session_id = S.list_sessions(services, OWNER)[0][0].id
    trash.delete(services, OWNER, "session", session_id)
    trash.delete(services, OWNER, "song", work["song"])
    trash.delete(services, OWNER, "storyboard", work["board"])
    assert search.search(services, OWNER, "lighthouse") == []
    assert search.recent_prompts(services, OWNER) == []
    trash.restore(services, OWNER, "song", work["song"])
    assert sorted(h.kind for h in search.search(services, OWNER, "lighthouse")) == [
        "verse",
        "verse_prompt",
    ]
    trash.restore(services, OWNER, "session", session_id)
    step_id = search.search(services, OWNER, "storm")[0].item_id
    assert step_id is not None
    trash.delete(services, OWNER, "step", step_id)  # a step alone, its session kept
    assert search.search(services, OWNER, "storm") == []


def test_an_imported_session_is_found_with_its_costs_to_here(services: Services) -> None:
    from studio.lifecycle import archive

    step(services, OTHER, "a windmill by the sea")
    run_all(services)
    exported = S.list_sessions(services, OTHER)[0][0]
    _, data = archive.export_session(services, OTHER, exported.id)
    imported = archive.import_session(services, OWNER, data)
    hits = search.search(services, OWNER, "windmill")
    assert [(h.kind, h.container_id) for h in hits] == [("step", imported.id)]
    page = S.open_session(services, OWNER, imported.id)
    original = S.open_session(services, OTHER, exported.id)
    assert page.selected is not None and original.selected is not None
    assert page.selected.generation.path_ms == original.selected.generation.path_ms
    assert page.session.total_cost == pytest.approx(original.session.total_cost)
