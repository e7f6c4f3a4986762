"""How long a server asks us to wait, and our own backoff when it does not say.

Servers say it in different headers; every common one is read:

* ``retry-after-ms`` (OpenAI, Azure): milliseconds;
* ``Retry-After`` (RFC 9110): seconds, or an HTTP date;
* ``llm_provider-retry-after`` (LiteLLM's proxy forwards the provider's header so);
* ``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens`` (OpenAI): a Go-style duration
  (``1s``, ``6m0s``, ``20ms``, ``1h2m3.5s``) until the exhausted limit resets; when both are
  given the longer one is needed (the request needs both limits)."""
from __future__ import annotations

import re
import time
from typing import Mapping, Optional

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_duration(value: str) -> Optional[float]:
    """Seconds of ``6m0s``, ``1s``, ``250ms``, ``1h2m3.5s`` or a bare number of seconds; None if not one."""
    text = (value or "").strip().lower()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and pos else None


def _seconds_or_date(value: str) -> Optional[float]:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def server_wait(headers: Optional[Mapping[str, str]]) -> Optional[float]:
    """Seconds the server asks for before the next request, or None when it does not say."""
    if not headers:
        return None
    get = headers.get
    ms = get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    for name in ("retry-after", "llm_provider-retry-after"):
        value = get(name)
        if value:
            seconds = _seconds_or_date(value.strip())
            if seconds is not None:
                return seconds
    resets = [parse_duration(get(name) or "") for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")]
    resets = [r for r in resets if r is not None]
    return max(resets) if resets else None


def wait_of(exc) -> Optional[float]:
    """:func:`server_wait` of an openai error's response."""
    response = getattr(exc, "response", None)
    return server_wait(getattr(response, "headers", None))


def backoff(attempt: int, base: float, cap: float, rng) -> float:
    """Exponential backoff with jitter (half to full) for attempt 1, 2, ..."""
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + rng.random() / 2)


def status_line(exc) -> str:
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or str(exc)
    return f"HTTP {status}: {str(message).splitlines()[0][:200]}" if status else str(message)[:200]


def cause_line(exc) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{type(cause).__name__}: {str(cause)[:160]}" if cause else str(exc)[:200]


def mentions_format(exc) -> bool:
    return "response_format" in str(exc) or "json_schema" in str(exc)
