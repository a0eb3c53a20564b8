"""Loading a song for its owner: anyone else's is reported as missing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import Song
from studio.errors import NotFound

SONG_NOT_FOUND = "That song does not exist or is not yours."
VERSE_NOT_FOUND = "That verse does not exist or is not yours."


def owned_song(db: Session, owner_id: str, song_id: str) -> Song:
    song = db.scalar(sa.select(Song).where(Song.id == song_id, Song.owner_id == owner_id))
    if song is None:
        raise NotFound(SONG_NOT_FOUND)
    return song
