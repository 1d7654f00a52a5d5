"""Targets: what an :class:`~newsletter.model.artifact.Artifact` becomes, as files in memory.

``files`` makes ``out/<slug>/``; ``esp/`` makes each ESP's export. A target writes nothing: the
commands write what it returns, atomically.
"""
