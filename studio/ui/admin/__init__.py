"""Widgets of the admin pages: Jobs and Monitoring."""
