"""Bounces, in pure Python (no database): the rules as data, `classify`, the DSN parser and the
mailbox readers. Imports nothing else of the project."""
