"""The app's root page: a map of the other pages.

Streamlit serves its default page at ``/`` only, never at its own path; the pages that
dbt's exposures link to must each answer at ``/<slug>``, so none of them is the default.
"""

from __future__ import annotations

import streamlit as st

from smartcity.dashboard.data import database_path


def render() -> None:
    # Imported here: the registry imports this module.
    from smartcity.dashboard import views

    st.title("Smart City dashboard")
    st.caption(f"Reading the dbt marts in `{database_path()}`.")
    by_slug = {page.url_path: page for page in views.pages()}
    for view in views.VIEWS:
        st.page_link(by_slug[view.slug], label=view.title, icon=view.icon)
        st.caption(view.summary)
