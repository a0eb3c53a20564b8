"""Storyboards: scenes and characters with images and videos. Everything about storyboards is in
this package: params.py (limits, options, checks, models), ownership.py (loading for the owner),
entities.py (storyboards, scenes and characters), requests.py (image, edit, video, animate),
runs.py (the whole storyboard at once), reads.py (reading), page.py (what the Storyboards
page shows, read for what is on screen), batch.py (`studio batch images`)
and jobs.py (the `storyboard_image` and `storyboard_video` jobs); the page's widgets are in
studio/ui/storyboards/. Requests per hour and the daily budget are the owner's across all work
(studio/limits.py).

Every function takes the Services container and the acting `owner_id`, and checks ownership in
the query itself: another owner's storyboard, entity or asset is reported exactly like a
missing one.

Four kinds of request, each one `StoryboardGeneration` row plus one queued job, written in one
transaction after everything was validated (a rejected request stores nothing):
- image: text-to-image (`storyboard_image` job);
- edit: image-to-image from the entity's current image, or a given source image;
- video: text-to-video (`storyboard_video` job), or image-to-video with a given source;
- animate: the entity's current image into a video.
Each request carries an idempotency key: the same key returns what the first request made.

"Generate images for the whole storyboard" is exclusive work per storyboard: one
`storyboard_image` job covering every entity; a second request while it is queued or running
answers `InProgress` (with an offer to clear it), a running one without a heartbeat for
STUDIO_STALE_JOB_SECONDS is cleared automatically (`JobQueue.start_exclusive`).
"""

from __future__ import annotations

from studio.storyboards.entities import (
    add_entity,
    create_storyboard,
    delete_entity,
    rename_storyboard,
    update_entity,
)
from studio.storyboards.ownership import ENTITY_NOT_FOUND, STORYBOARD_NOT_FOUND
from studio.storyboards.page import (
    EntityCard,
    InFlight,
    StoryboardPage,
    entity_history,
    entity_place,
    loose_requests,
    open_storyboard,
)
from studio.storyboards.params import (
    ACTIVE,
    ASPECT_RATIOS,
    DEFAULT_STRENGTH,
    DURATIONS,
    GOOGLE_IMAGE_MODEL,
    GOOGLE_VIDEO_MODEL,
    IMAGE_JOB,
    IMAGE_SHAPES,
    KINDS,
    MAX_DESCRIPTION_CHARS,
    MAX_SEED,
    RESOLUTIONS,
    VIDEO_JOB,
    ModelChoice,
    VideoOptions,
    model_choices,
)
from studio.storyboards.reads import (
    EntityView,
    ExclusiveJob,
    GenerationView,
    StoryboardCard,
    StoryboardView,
    exclusive_job,
    generation_statuses,
    get_generation,
    get_storyboard,
    has_unfiled,
    list_storyboards,
    list_unfiled,
)
from studio.storyboards.requests import (
    MediaRequest,
    Source,
    request_animate,
    request_edit,
    request_image,
    request_video,
    submit,
)
from studio.storyboards.runs import (
    clear_storyboard_job,
    entity_prompt,
    exclusive_key,
    generate_storyboard_images,
)
from studio.text import MAX_NAME_CHARS, MAX_TITLE_CHARS

__all__ = [
    "has_unfiled",
    "entity_place",
    "open_storyboard",
    "loose_requests",
    "entity_history",
    "StoryboardPage",
    "InFlight",
    "EntityCard",
    "ACTIVE",
    "ASPECT_RATIOS",
    "DEFAULT_STRENGTH",
    "DURATIONS",
    "ENTITY_NOT_FOUND",
    "GOOGLE_IMAGE_MODEL",
    "GOOGLE_VIDEO_MODEL",
    "IMAGE_JOB",
    "IMAGE_SHAPES",
    "KINDS",
    "MAX_DESCRIPTION_CHARS",
    "MAX_NAME_CHARS",
    "MAX_SEED",
    "MAX_TITLE_CHARS",
    "RESOLUTIONS",
    "STORYBOARD_NOT_FOUND",
    "VIDEO_JOB",
    "EntityView",
    "ExclusiveJob",
    "GenerationView",
    "ModelChoice",
    "Source",
    "StoryboardCard",
    "StoryboardView",
    "VideoOptions",
    "add_entity",
    "clear_storyboard_job",
    "create_storyboard",
    "delete_entity",
    "entity_prompt",
    "exclusive_job",
    "exclusive_key",
    "generate_storyboard_images",
    "generation_statuses",
    "get_generation",
    "get_storyboard",
    "list_storyboards",
    "list_unfiled",
    "model_choices",
    "rename_storyboard",
    "request_animate",
    "request_edit",
    "request_image",
    "request_video",
    "submit",
    "MediaRequest",
    "update_entity",
]
