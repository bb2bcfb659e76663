"""The module ``harmsim dashboard`` hands to ``solara run``: the page of the scenario and fit it was given."""

from harmsim.dashboard import _app_page

Page = _app_page()
