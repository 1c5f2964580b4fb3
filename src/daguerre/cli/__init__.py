"""The ``daguerre`` command line: ``app.py`` (entry point), one ``*_cmd.py`` per command.

Shared pieces: ``options.py`` (flag types) and ``batch.py`` (the per-file loop every
file-processing command uses).
"""
