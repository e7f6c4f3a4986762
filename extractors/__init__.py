"""Source kinds and extractors (``telecom_etl.extractors``).

Importing a module here registers its source kind; a new kind is one file plus one line.
"""
from telecom_etl.extractors.base import SourceItem, SourceKind  # noqa: F401
from telecom_etl.registry import SOURCES  # noqa: F401

from telecom_etl.extractors import text  # noqa: F401,E402
from telecom_etl.extractors import spec  # noqa: F401,E402
from telecom_etl.extractors import paper  # noqa: F401,E402
from telecom_etl.extractors import code  # noqa: F401,E402
