"""Sphinx configuration: furo, MyST Markdown pages, autodoc with type hints."""

from __future__ import annotations

project = "auth_sessions"
author = "the auth_sessions team"
copyright = "2026, the auth_sessions team"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
html_theme = "furo"
html_title = "auth_sessions"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
nitpicky = False
suppress_warnings = ["myst.xref_missing"]
