"""The studio's tables: the only place tables are defined, one module per domain.

Ids are UUID strings, timestamps timezone-aware UTC. Owned rows carry `owner_id`.
"""

from __future__ import annotations

from db.schema.base import Base, table
from db.schema.jobs import (
    CONTROL_SCOPES,
    ERROR_CLASSES,
    JOB_STAGES,
    JOB_STATUSES,
    Job,
    QueueControl,
)
from db.schema.ledger import UsageLedger
from db.schema.search import SEARCH_KINDS, SearchEntry
from db.schema.sessions import (
    ASSET_ROLES,
    GENERATION_MODES,
    ImageAsset,
    ImageGeneration,
    ImageSession,
)
from db.schema.songs import Song, SongGenerationConversation, SongGenerationVerseArtifact, SongVerse
from db.schema.storyboards import (
    ENTITY_KINDS,
    STORYBOARD_MEDIA,
    STORYBOARD_MODES,
    Storyboard,
    StoryboardEntity,
    StoryboardGeneration,
)

metadata = Base.metadata

__all__ = [
    "ASSET_ROLES",
    "CONTROL_SCOPES",
    "ENTITY_KINDS",
    "ERROR_CLASSES",
    "GENERATION_MODES",
    "JOB_STAGES",
    "JOB_STATUSES",
    "SEARCH_KINDS",
    "STORYBOARD_MEDIA",
    "STORYBOARD_MODES",
    "Base",
    "ImageAsset",
    "ImageGeneration",
    "ImageSession",
    "Job",
    "QueueControl",
    "SearchEntry",
    "Song",
    "SongGenerationConversation",
    "SongGenerationVerseArtifact",
    "SongVerse",
    "Storyboard",
    "StoryboardEntity",
    "StoryboardGeneration",
    "UsageLedger",
    "metadata",
    "table",
]
