"""Code repositories as a pre-training source: languages, licenses, git and tree walking.

The ``code`` source kind (:mod:`telecom_etl.extractors.code`) composes these pieces;
each one is pure Python over local files (git runs as a subprocess), without Beam.
"""
