"""A double click maps to the first submission; a changed form or a later click does not."""

from __future__ import annotations

from studio.submissions import submission_key


def test_same_content_within_window_reuses_the_key() -> None:
    state: dict = {}
    first = submission_key(state, "home", {"prompt": "a fox"}, now=100.0)
    assert submission_key(state, "home", {"prompt": "a fox"}, now=101.5) == first


def test_changed_content_or_later_submit_gets_a_new_key() -> None:
    state: dict = {}
    first = submission_key(state, "home", {"prompt": "a fox"}, now=100.0)
    second = submission_key(state, "home", {"prompt": "a red fox"}, now=101.0)
    assert second != first
    assert submission_key(state, "home", {"prompt": "a red fox"}, now=200.0) != second


def test_forms_do_not_share_keys() -> None:
    state: dict = {}
    a = submission_key(state, "home", {"prompt": "x"}, now=1.0)
    b = submission_key(state, "session:1", {"prompt": "x"}, now=1.0)
    assert a != b
