"""Image sessions and their tree of generations (steps). Everything about sessions is in this
package: params.py (the form and its checks), create.py (new steps), actions.py (everything
else), reads.py (Home's cards, a session's whole tree), page.py (what the Session page shows, in
a fixed number of queries whatever the session's size), ownership.py and job.py (the
`session_generation` job); the widgets are in studio/ui/session/.

Every function takes the Services container and the acting `owner_id`, and checks ownership in
the query itself: another owner's session or step is reported exactly like a missing one.

Writes validate everything first and then change the database in one transaction, together with
the `session_generation` job that does the work. Each form carries an idempotency key:
submitting it again returns what the first submission made (studio/submissions.py). A step's
state is its job's (studio/jobs/work.py).
"""

from __future__ import annotations

from studio.sessions import costs
from studio.sessions.actions import (
    cancel_generation,
    delete_generation,
    download_bytes,
    duplicate_params,
    rename_session,
)
from studio.sessions.create import create_session, iterate, regenerate
from studio.sessions.ownership import SESSION_NOT_FOUND, STEP_NOT_FOUND
from studio.sessions.page import HistoryRow, SessionPage, open_session
from studio.sessions.params import (
    JOB_KIND,
    MAX_GUIDANCE,
    MAX_IMAGES,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MIN_SIDE,
    CheckedParams,
    GenerationParams,
    check_params,
    random_seed,
    snap_side,
    title_from_prompt,
)
from studio.sessions.reads import (
    ACTIVE,
    FINISHED,
    GenerationView,
    SessionCard,
    SessionView,
    StepProgress,
    get_session,
    list_sessions,
    steps_in_flight,
)
from studio.sessions.replay import (
    ReplayPlan,
    cancel_replay,
    plan_replay,
    replay_branch,
    replayed_steps,
    requeue_or_skip,
)
from studio.text import MAX_TITLE_CHARS

__all__ = [
    "ACTIVE",
    "FINISHED",
    "JOB_KIND",
    "MAX_GUIDANCE",
    "MAX_IMAGES",
    "MAX_SEED",
    "MAX_SIDE",
    "MAX_STEPS",
    "MAX_TITLE_CHARS",
    "MIN_SIDE",
    "SESSION_NOT_FOUND",
    "STEP_NOT_FOUND",
    "CheckedParams",
    "GenerationParams",
    "GenerationView",
    "HistoryRow",
    "SessionCard",
    "SessionPage",
    "ReplayPlan",
    "SessionView",
    "StepProgress",
    "cancel_generation",
    "cancel_replay",
    "check_params",
    "costs",
    "create_session",
    "delete_generation",
    "download_bytes",
    "duplicate_params",
    "get_session",
    "iterate",
    "list_sessions",
    "open_session",
    "plan_replay",
    "random_seed",
    "regenerate",
    "replay_branch",
    "replayed_steps",
    "requeue_or_skip",
    "rename_session",
    "snap_side",
    "steps_in_flight",
    "title_from_prompt",
]
