"""Code repositories as a pre-training source: languages, licenses, git and tree walking.

The ``code`` source kind (:mod:`telecom_etl.extractors.code`) composes these pieces;
each one is pure Python over local files (git checkouts are read with dulwich; git itself only clones URLs), without Beam.
"""
