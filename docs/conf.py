"""Sphinx settings of the kit's documentation: `sphinx-build -W -n docs docs/_build`."""

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE / "_ext"), str(HERE.parent)]

project = "gradekit: the W1-S3 auto-graded exercise kit"
author = "the course team"
extensions = ["myst_parser", "gradekit_reference"]
# Headings up to ### get anchors, so pages link to each other's sections
# ([text](page.md#a-heading)); a missing page or anchor is a warning, hence an error.
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
# A page's source is not copied next to it: the site is read, not edited, there.
html_copy_source = False
html_show_sourcelink = False
