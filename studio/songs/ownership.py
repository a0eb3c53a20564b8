"""Loading a song for its owner: anyone else's is reported as missing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.schema import Song
from studio.ownership import owned

SONG_NOT_FOUND = "That song does not exist or is not yours."
VERSE_NOT_FOUND = "That verse does not exist or is not yours."


def owned_song(db: Session, owner_id: str, song_id: str) -> Song:
    return owned(db, owner_id, Song, song_id, SONG_NOT_FOUND)
