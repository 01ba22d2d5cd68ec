"""The vocabulary every layer shares: the glossary of column names and reference-table reading.

Nothing here knows about events, replay or reports; every other subpackage may import it.
"""
