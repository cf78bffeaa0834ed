"""The Streamlit analyst workspace (app.py is a thin shell over `workspace.main`).

Pure helpers live in `controls` (what the controls mean as evidence) and
`report` (tables, downloads, inline SVG charts); `charts` builds Altair charts.
Other helpers may add `analysis` and `journal` modules, each with
`render(model, evidence)`; the workspace shows them as tabs when present.
"""
