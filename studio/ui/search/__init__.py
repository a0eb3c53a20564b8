"""Widgets of the Search page and the search box on Home."""
