"""The Streamlit analyst workspace (app.py is a thin shell over `workspace.main`).

Pure helpers live in `controls` (what the controls mean as evidence) and
`report` (tables, downloads, inline SVG charts); `charts` builds Altair charts.
The `analysis`, `journal` and `elicitation` tabs each offer `render(model, evidence)`.
"""
