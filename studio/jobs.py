"""Importing this module registers every job kind's handler with the worker."""

from __future__ import annotations

import studio.generation_job  # noqa: F401
import studio.storyboard_jobs  # noqa: F401
import studio.verse_job  # noqa: F401
