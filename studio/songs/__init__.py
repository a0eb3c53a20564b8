"""Songs: drafts split into verses, one illustration job per verse. Everything about songs is
in this package: text.py (verses, tags, the draft's checks), illustration.py (what every verse
job shares), ownership.py, create.py (new drafts), reads.py (the songs table and one song),
actions.py (publish, requeue, skip), prompts.py (the prompt templates) and job.py (the
`verse_illustration` job); the page's widgets are in studio/ui/songs/.

A draft is a song (unpublished), its verses, and one pending `verse_illustration` job per verse,
all written in one transaction. The jobs share the song's concurrency key, are `ordered` and
carry the verse number as their sequence, so the queue runs the verses of one song strictly in
order, one at a time, and a failed verse holds the rest until it is requeued or skipped.

Every function takes the acting `owner_id` and checks ownership in the query itself: another
owner's song is reported exactly like a missing one. Validation and the owner's limits (each
verse is one request; studio/limits.py) are checked before anything is written; a rejected
draft stores nothing.
"""

from __future__ import annotations

from studio.songs.actions import requeue_verse, set_published, skip_verse
from studio.songs.create import create_song_draft
from studio.songs.illustration import (
    ILLUSTRATION_ASPECT,
    ILLUSTRATION_HEIGHT,
    ILLUSTRATION_WIDTH,
    JOB_KIND,
    LABEL_TITLE_CHARS,
    OFFLINE_MODEL,
    OFFLINE_PROVIDER,
    choose_provider,
    illustration_request,
    song_key,
    verse_label,
)
from studio.songs.ownership import SONG_NOT_FOUND, VERSE_NOT_FOUND
from studio.songs.reads import (
    Conversation,
    QueueHead,
    SongProgress,
    SongRow,
    SongView,
    VerseView,
    get_song,
    list_songs,
)
from studio.songs.text import (
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_TEXT_CHARS,
    MAX_VERSE_CHARS,
    MAX_VERSES,
    SongDraft,
    check_draft,
    normalize_tags,
    split_verses,
)
from studio.text import MAX_TITLE_CHARS

__all__ = [
    "ILLUSTRATION_ASPECT",
    "ILLUSTRATION_HEIGHT",
    "ILLUSTRATION_WIDTH",
    "JOB_KIND",
    "LABEL_TITLE_CHARS",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_VERSES",
    "MAX_VERSE_CHARS",
    "OFFLINE_MODEL",
    "OFFLINE_PROVIDER",
    "SONG_NOT_FOUND",
    "VERSE_NOT_FOUND",
    "Conversation",
    "QueueHead",
    "SongDraft",
    "SongProgress",
    "SongRow",
    "SongView",
    "VerseView",
    "check_draft",
    "choose_provider",
    "create_song_draft",
    "get_song",
    "illustration_request",
    "list_songs",
    "normalize_tags",
    "requeue_verse",
    "set_published",
    "skip_verse",
    "song_key",
    "split_verses",
    "verse_label",
]
