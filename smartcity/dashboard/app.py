"""The script Streamlit runs (``streamlit run smartcity/dashboard/app.py``).

It only lays out the navigation; each page's code lives in ``views``.
"""

from __future__ import annotations

import streamlit as st

from smartcity.dashboard.views import pages

st.set_page_config(page_title="Smart City", page_icon=":material/location_city:", layout="wide")
st.navigation(pages()).run()
