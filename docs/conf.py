# Sphinx configuration for the offline docs site. Build with `make docs` (tools/docs.py), which lays out the
# source folder (_proc/.site) from the nbdev-processed notebooks and the reports, then renders into _docs/.
project = 'ml_lifecycle'
author = 'ml_lifecycle developers'
extensions = ['myst_nb']
# the notebooks are rendered with their stored outputs: library pages as nbdev processed them (show_doc),
# phase notebooks as `dvc repro` executed them. Never re-execute here.
nb_execution_mode = 'off'
nb_merge_streams = True
# no dollarmath: '$50K' in prose stays text, and MathJax (a CDN script) is never needed
myst_enable_extensions = ['colon_fence', 'deflist', 'html_image']
myst_heading_anchors = 3
source_suffix = {'.ipynb': 'myst-nb', '.md': 'myst-nb'}
exclude_patterns = ['_build', '**.ipynb_checkpoints']
suppress_warnings = ['mystnb.unknown_mime_type', 'myst.header', 'myst.xref_missing', 'misc.highlighting_failure',
                     'toc.not_included']
# furo: self-contained (its CSS/JS ship with the wheel, no CDN); search is Sphinx's own, offline
html_theme = 'furo'
html_title = 'ml_lifecycle'
html_static_path = []
html_copy_source = False
html_show_sourcelink = False
# MathJax would come from a CDN: point it at a local name that is not shipped; it is only referenced by a page
# that holds maths (none does; tests/test_docs.py fails on any missing local script)
mathjax_path = 'mathjax-not-bundled.js'
