"""The job queue and its workers: one queue for every kind of work."""
