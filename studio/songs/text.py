"""Song text: splitting it into verses, normalizing tags, and checking the draft form before
anything is written."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from studio.errors import Invalid

MAX_TITLE_CHARS = 200
MAX_VERSES = 200
MAX_VERSE_CHARS = 2_000
# Checked before splitting, so a huge paste is refused without scanning it line by line.
MAX_TEXT_CHARS = 2_000_000
MAX_TAGS = 20
MAX_TAG_CHARS = 40

_BLANK_RUN = re.compile(r"\n(?:[^\S\n]*\n)+")  # a line break, then one or more blank lines
_SPACES = re.compile(r"\s+")
_ALLOWED_IN_TEXT = {"\n", "\r", "\t"}


def _control_chars(text: str, allowed: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Control characters (C0, DEL, C1) in `text`, except the `allowed` ones."""
    return [c for c in text if unicodedata.category(c) == "Cc" and c not in allowed]


def _describe_char(c: str) -> str:
    return f"U+{ord(c):04X}"


def _check_encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"The {what} contains characters that are not valid text.") from None


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
        if not isinstance(item, str):
            raise Invalid("Tags must be text.")
        _check_encodable(item, "tags")
        bad = _control_chars(item, {"\t"})
        if bad:
            raise Invalid(
                f"A tag contains a control character ({_describe_char(bad[0])}); "
                "remove it and try again."
            )
        tag = _SPACES.sub(" ", item).strip().lstrip("#").strip().lower()
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
    title = _SPACES.sub(" ", title or "").strip()
    if not title:
        raise Invalid("Give the song a title.")
    _check_encodable(title, "title")
    bad = _control_chars(title)
    if bad:
        raise Invalid(
            f"The title contains a control character ({_describe_char(bad[0])}); "
            "remove it and try again."
        )
    if len(title) > MAX_TITLE_CHARS:
        raise Invalid(f"The title is {len(title):,} characters; the limit is {MAX_TITLE_CHARS}.")
    text = text or ""
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(
            f"The song text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}."
        )
    _check_encodable(text, "song text")
    bad = _control_chars(text, _ALLOWED_IN_TEXT)
    if bad:
        line = text[: text.index(bad[0])].count("\n") + 1
        raise Invalid(
            f"The song text contains a control character ({_describe_char(bad[0])}) on line "
            f"{line}; remove it and try again."
        )
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
