"""Filters (``telecom_etl.filters``). Importing a module here registers its filters."""
from telecom_etl.filters.base import Filter, FilterChain, build_filter  # noqa: F401
from telecom_etl.registry import FILTERS  # noqa: F401

# One line per filter module: the import is the registration.
from telecom_etl.filters import length  # noqa: F401,E402
from telecom_etl.filters import heuristics  # noqa: F401,E402
from telecom_etl.filters import language  # noqa: F401,E402
from telecom_etl.filters import relevance  # noqa: F401,E402
from telecom_etl.filters import classifier  # noqa: F401,E402
from telecom_etl.filters import decontaminate  # noqa: F401,E402
from telecom_etl.filters import code  # noqa: F401,E402
from telecom_etl.filters import pii  # noqa: F401,E402
