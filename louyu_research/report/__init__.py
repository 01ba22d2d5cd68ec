"""The quarterly report: gather inputs from the log, lay out sections, execute the notebook
with papermill, render HTML/PDF/workbook/CSV/charts, and fingerprint it in a manifest.

`pipeline` is the entry point (`build_report`, `verify_reports`); `publication` lays out the
sections; `tables`, `charts`, `fonts` and `render` turn them into files; `manifest` makes a
publication reproducible.
"""
