"""The Streamlit dashboard over the dbt marts in DuckDB: one page per dbt exposure.

``app.py`` is the script Streamlit runs; ``server.py`` starts it. The data layer
(``database``, ``relations``, ``queries``) has no Streamlit in it, so it can be used and
tested on its own; ``data`` adds Streamlit's cache and ``ui`` the messages a reader sees.
"""
