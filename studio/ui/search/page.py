"""The Search page: one box over everything a person made, with filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from studio import search
from studio.search import SearchFilters
from studio.services import Services
from studio.ui.search.results import KIND_LABELS, render_results

QUERY = "search:q"
STATUS_CHOICES = ("any", "succeeded", "queued", "running", "failed", "canceled")


def _day(value: date | None, *, end: bool = False) -> datetime | None:
    if value is None:
        return None
    start = datetime.combine(value, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def render_search_page(services: Services, owner: str) -> None:
    st.title("Search")
    if QUERY not in st.session_state and st.query_params.get("q"):
        st.session_state[QUERY] = st.query_params.get("q")
    query = st.text_input(
        "Search your work",
        key=QUERY,
        placeholder="a word of a prompt, a verse, a scene or a character…",
    )
    with st.expander("Filters", icon=":material/filter_list:"):
        c1, c2, c3 = st.columns(3)
        kinds = c1.multiselect(
            "What", list(KIND_LABELS), format_func=KIND_LABELS.__getitem__, key="search:kinds"
        )
        provider = c2.text_input("Provider", key="search:provider")
        model = c3.text_input("Model", key="search:model")
        c4, c5, c6 = st.columns(3)
        status = c4.selectbox("Status", STATUS_CHOICES, key="search:status")
        since = c5.date_input("From", value=None, key="search:since")
        until = c6.date_input("To", value=None, key="search:until")
    if not query.strip():
        st.caption(
            "Type a word: session prompts, song verses and their prompts, storyboard "
            "scenes, characters and prompts are searched. Exact matches come first."
        )
        return
    if st.query_params.get("q") != query:
        st.query_params["q"] = query
    filters = SearchFilters(
        kinds=tuple(kinds) or None,
        provider=provider.strip() or None,
        model=model.strip() or None,
        status=None if status == "any" else status,
        since=_day(since if isinstance(since, date) else None),
        until=_day(until if isinstance(until, date) else None, end=True),
    )
    hits = search.search(services, owner, query, filters)
    st.caption(
        f"{len(hits)} result{'s' * (len(hits) != 1)}"
        + (" (the first 50)" if len(hits) == 50 else "")
    )
    if not hits:
        st.info("Nothing of yours matches every word.", icon=":material/search_off:")
    render_results(hits)


def _go_search() -> None:
    query = st.session_state.get("home:search", "")
    if query.strip():
        st.session_state[QUERY] = query
        st.session_state["home:search_go"] = query
    st.session_state["home:search"] = ""


def render_search_box() -> None:
    """Home's search box: Enter opens the Search page with the query."""
    st.text_input(
        "Search your work",
        key="home:search",
        placeholder="Find a prompt, a verse, a scene or a character…",
        icon=":material/search:",
        on_change=_go_search,
    )
    query = st.session_state.pop("home:search_go", None)
    if query:
        st.switch_page("pages/search.py", query_params={"q": query})
