"""The quarterly report: gather inputs from the log, lay out sections, execute the notebook
with papermill, render HTML/PDF/workbook/CSV/charts, and fingerprint it in a manifest.

`pipeline` is the entry point (`build_report`, `verify_reports`); `inputs` reads the log once
for a quarter; `sections` lays out the report as pure functions of those inputs, with
`disclosure` deciding what a public edition may show; `tables`, `charts`, `fonts` and `render`
turn them into files; `manifest` makes a publication reproducible.
"""
