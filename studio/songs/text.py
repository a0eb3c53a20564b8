"""Song text: splitting it into verses, normalizing tags, and checking the draft form before
anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.errors import Invalid
from studio.text import MAX_TITLE_CHARS, check_text

MAX_VERSES = 200
MAX_VERSE_CHARS = 2_000
# Checked before splitting, so a huge paste is refused without scanning it line by line.
MAX_TEXT_CHARS = 2_000_000
MAX_TAGS = 20
MAX_TAG_CHARS = 40

_BLANK_RUN = re.compile(r"\n(?:[^\S\n]*\n)+")  # a line break, then one or more blank lines


def split_verses(text: str) -> list[str]:
    """Verses of a song text: separated by any run of blank or whitespace-only lines, with
    Windows, old-Mac or Unix line endings; each verse trimmed (lines keep their inner spacing,
    lose trailing spaces); no empty verses."""
    normalized = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    verses = []
    for chunk in _BLANK_RUN.split(normalized):
        lines = [line.rstrip() for line in chunk.split("\n")]
        verse = "\n".join(lines).strip()
        if verse:
            verses.append(verse)
    return verses


def normalize_tags(tags: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Tags trimmed, inner whitespace collapsed, a leading '#' dropped, lower-cased,
    de-duplicated (first one wins), order kept. A string is split on commas and new lines.

    Raises Invalid for a tag longer than MAX_TAG_CHARS, more than MAX_TAGS tags, or control
    characters."""
    if tags is None:
        return []
    items = re.split(r"[,\n\r]", tags) if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for item in items:
        tag = check_text(item, what="tag", limit=10 * MAX_TAG_CHARS).lstrip("#").strip().lower()
        if not tag or tag in out:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise Invalid(
                f"The tag “{tag[:20]}…” is {len(tag)} characters; a tag can have at most "
                f"{MAX_TAG_CHARS}."
            )
        out.append(tag)
    if len(out) > MAX_TAGS:
        raise Invalid(f"The song has {len(out)} tags; the limit is {MAX_TAGS}.")
    return out


@dataclass(frozen=True)
class SongDraft:
    """A validated draft: what `create_song_draft` stores."""

    title: str
    tags: list[str]
    verses: list[str]


def check_draft(title: str, tags: str | list[str] | None, text: str) -> SongDraft:
    """Validate the "Create song draft" form; raises Invalid with a message for the person."""
    title = check_text(title, what="title", limit=MAX_TITLE_CHARS, empty="Give the song a title.")
    empty = "Paste the song text: verses are separated by blank lines."
    text = check_text(text, what="song text", limit=MAX_TEXT_CHARS, multiline=True, empty=empty)
    verses = split_verses(text)
    if not verses:
        raise Invalid("Paste the song text: verses are separated by blank lines.")
    for number, verse in enumerate(verses, start=1):
        if len(verse) > MAX_VERSE_CHARS:
            raise Invalid(
                f"Verse {number} is {len(verse):,} characters; a verse can have at most "
                f"{MAX_VERSE_CHARS:,}. Separate verses with a blank line."
            )
    if len(verses) > MAX_VERSES:
        raise Invalid(
            f"The song has {len(verses):,} verses; the limit is {MAX_VERSES} "
            "(each verse is one illustration)."
        )
    return SongDraft(title, normalize_tags(tags), verses)
