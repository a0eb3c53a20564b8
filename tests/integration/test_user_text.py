"""Every piece of people's text is checked the same way before anything is stored: prompts,
titles, names, descriptions, tags and verses refuse lone surrogates and control characters with
a message that says what and where, in every domain."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from db.schema import metadata
from studio import sessions, songs
from studio import storyboards as sb
from studio.errors import Invalid
from studio.services import Services
from studio.text import check_text

OWNER = "alice"


def _rows(services: Services) -> int:
    with services.engine.connect() as conn:
        return sum(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        )


def _session_prompt(services: Services, text: str) -> object:
    params = sessions.GenerationParams(prompt=text, width=64, height=64)
    return sessions.create_session(services, OWNER, params, idempotency_key=text)


def _negative_prompt(services: Services, text: str) -> object:
    params = sessions.GenerationParams(prompt="fine", negative_prompt=text, width=64, height=64)
    return sessions.create_session(services, OWNER, params, idempotency_key=text)


def _storyboard_title(services: Services, text: str) -> object:
    return sb.create_storyboard(services, OWNER, text)


def _scene_name(services: Services, text: str) -> object:
    board = sb.create_storyboard(services, OWNER, "Board")
    return sb.add_entity(services, OWNER, board.id, kind="scene", name=text)


def _character_description(services: Services, text: str) -> object:
    board = sb.create_storyboard(services, OWNER, "Board")
    return sb.add_entity(services, OWNER, board.id, kind="character", name="Ana", description=text)


def _storyboard_prompt(services: Services, text: str) -> object:
    return sb.request_image(services, OWNER, prompt=text, idempotency_key="k")


def _song_title(services: Services, text: str) -> object:
    return songs.create_song_draft(
        services, OWNER, title=text, tags="", text="a verse", idempotency_key="k"
    )


WRITES: dict[str, tuple[Callable[[Services, str], object], str]] = {
    "session prompt": (_session_prompt, "prompt"),
    "negative prompt": (_negative_prompt, "negative prompt"),
    "storyboard title": (_storyboard_title, "title"),
    "scene name": (_scene_name, "name"),
    "character description": (_character_description, "description"),
    "storyboard prompt": (_storyboard_prompt, "prompt"),
    "song title": (_song_title, "title"),
}


@pytest.mark.parametrize("where", WRITES)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("a lone \ud800 surrogate", "contains something that is not valid text (U+D800)"),
        ("a bell \x07 rings", "contains a control character (U+0007)"),
        ("an escape \x1b[31m", "contains a control character (U+001B)"),
    ],
)
def test_bad_text_is_refused_everywhere_and_nothing_is_stored(
    services: Services, where: str, bad: str, message: str
) -> None:
    write, what = WRITES[where]
    before = _rows(services)
    if where in ("scene name", "character description"):
        before += 1  # the storyboard the entity goes into is made first
    with pytest.raises(Invalid) as refused:
        write(services, bad)
    assert refused.value.user_message.startswith(f"The {what} {message}")
    assert _rows(services) == before


def test_line_breaks_are_text_where_a_text_spans_lines() -> None:
    assert check_text(" two\nlines\t ", what="prompt", limit=50, multiline=True) == "two\nlines"
    assert check_text(" one \n line ", what="title", limit=50) == "one line"
    with pytest.raises(Invalid, match=r"\(U\+0000\) on line 2"):
        check_text("ok\nnul\x00", what="verse", limit=50, multiline=True)
    with pytest.raises(Invalid, match="The title is 6 characters; the limit is 5."):
        check_text("abcdef", what="title", limit=5)
    with pytest.raises(Invalid, match="Give it a name."):
        check_text(" \n ", what="name", limit=5, empty="Give it a name.")
