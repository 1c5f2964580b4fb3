"""The local web page (``daguerre serve``): a thin Gradio shell over ``daguerre.pipelines``.

Modules: :mod:`daguerre.web.jobs` (check, process and write uploads; no Gradio),
:mod:`daguerre.web.restore_jobs`, :mod:`daguerre.web.age_jobs` and :mod:`daguerre.web.stylize_jobs`
(the tasks), :mod:`daguerre.web.report` (Markdown messages), :mod:`daguerre.web.app` (the Gradio
page, with one ``*_tab`` module per tab), :mod:`daguerre.web.examples` (example photos made at
startup) and :mod:`daguerre.web.devserver` (start a server in a subprocess, for tests, the load
benchmark and the screenshot script). Nothing is imported here, so this package stays light.
"""
