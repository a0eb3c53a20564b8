"""The life of stored work beyond making it: delete with a trash and restore (trash.py; the
Recently deleted list is reads.py), purge (purge.py), files no row references and rows whose
file is missing (gc.py), export and import of a session as a zip (archive.py), export of a song
or a storyboard (exports.py), retention of old jobs and failed inputs (retention.py) and backups
(backup.py). It sits above the domains, whose rows it reads and deletes; the pages and the
`studio` command call it. docs/lifecycle.md describes it for users and operators.
"""
