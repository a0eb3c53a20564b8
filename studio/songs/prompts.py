"""The prompts that illustrate a song, verse by verse, in one model conversation.

Edit the two templates below to change what the model is asked; the placeholders in braces are
filled in by `initial_prompt` and `next_verse_prompt`. The first verse to be illustrated gets the
initial prompt, which sets the characters, palette and style for the whole song; every later
verse gets the next-verse prompt, sent after the earlier verses have been replayed as turns of
the same conversation: what was asked (the earlier prompt), then what came back (the model's
summary of its picture plus a thumbnail of it).

Keep colour and scene words out of the fixed text: the offline renderer takes its palette from
the words of the prompt, so the song's own words should decide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

INITIAL_ILLUSTRATION_PROMPT = """\
You are illustrating the song "{title}", one verse at a time, in a single conversation.
{tags_line}The song has {verse_count} verses. This is verse {number}:

{verse}

Draw one illustration for this verse: a single picture, with no text, lettering or speech
bubbles in it. Choose a clear visual style, recognisable characters (if the song has any) and
a colour palette that can carry the whole song: the following verses will be drawn as the next
pictures of the same series.

Then describe what you drew in two or three sentences: the characters (how they look and what
they wear), the place, the palette and the style. Your description is kept and shown to you
again, with a small copy of the picture, when you draw the next verses.
"""

NEXT_VERSE_PROMPT = """\
Verse {number} of {verse_count} of "{title}":

{verse}

Draw the illustration for this verse as the next picture of the same series. Keep the
characters, their clothes, the palette and the style of your earlier illustrations (your
descriptions and small copies of them are above); change only what this verse changes. No
text or lettering in the picture.

Then describe what you drew in two or three sentences, as before.
"""

# How many earlier verses are replayed before the next-verse prompt: the first one (it set the
# characters and the style) and the most recent ones. Older verses are left out to keep the
# request small; their summaries live on in the model's later summaries.
MAX_REPLAYED_VERSES = 8


def _tags_line(tags: Sequence[str]) -> str:
    return f"Its tags: {', '.join(tags)}.\n" if tags else ""


def initial_prompt(
    *, title: str, tags: Sequence[str], verse: str, number: int, verse_count: int
) -> str:
    """The prompt for the first verse to be illustrated (normally verse 1)."""
    return INITIAL_ILLUSTRATION_PROMPT.format(
        title=title,
        tags_line=_tags_line(tags),
        verse=verse,
        number=number,
        verse_count=verse_count,
    )


def next_verse_prompt(
    *, title: str, tags: Sequence[str], verse: str, number: int, verse_count: int
) -> str:
    """The prompt for every later verse (its predecessors are replayed before it)."""
    return NEXT_VERSE_PROMPT.format(
        title=title,
        tags_line=_tags_line(tags),
        verse=verse,
        number=number,
        verse_count=verse_count,
    )


def replayed(items: Sequence[T], limit: int = MAX_REPLAYED_VERSES) -> list[T]:
    """Which earlier verses to replay, in order: the first and the most recent ones."""
    if len(items) <= limit:
        return list(items)
    return [items[0], *items[len(items) - (limit - 1) :]]
