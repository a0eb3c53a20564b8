"""Search: one box over everything you made (`?q=` holds the query)."""

from __future__ import annotations

from pages import run_under_app
from studio.ui.common.identity import current_owner
from studio.ui.common.services import get_services
from studio.ui.search.page import render_search_page

run_under_app()

render_search_page(get_services(), current_owner())
