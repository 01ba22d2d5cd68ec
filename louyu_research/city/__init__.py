"""A city as data: its divisions (streets, reporting areas), the plan's targets, the key
industries and their GB/T 4754 mapping, and the settings every figure depends on.

The shipped city is Jiaxing (`jiaxing/`); a user may pass their own files.
"""
