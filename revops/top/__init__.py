"""Leadflow's top layer: what needs every app at once.

The rep workspace (`views`), the dashboards (`dashboards`), the demo loader (`demo`), configuration as code
(`config/`) and the `serve`, `load_demo`, `import_config` and `export_config` commands. Nothing imports this package
but the project wiring (`revops/urls.py`).
"""
