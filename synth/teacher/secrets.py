"""Keep credentials out of every output: answer texts, error texts, caches, reports, cards.

The secrets of a teacher are the API key (the value of its ``api_key_env`` variable) and
anything inside its ``base_url`` that authenticates (``user:pass@``, the values of its
query string). :func:`scrub` replaces each with ``***`` wherever it appears;
:func:`redact_url` is the URL for reports."""
from __future__ import annotations

import re
from typing import Iterable, List, Optional
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
MIN_SECRET = 6  # shorter values are not scrubbed (they would mangle ordinary text)


def redact_url(url: Optional[str]) -> Optional[str]:
    """``https://user:pass@host/v1?api-key=K`` -> ``https://***@host/v1?api-key=***``."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{k}=***" if v else k for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, "" if not parts.fragment else "***"))


def url_secrets(url: Optional[str]) -> List[str]:
    """The credential values a URL carries (user, password, query values), raw and decoded."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    out = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        out.append(userinfo)
        out.extend(userinfo.split(":", 1))
    for _, value in parse_qsl(parts.query, keep_blank_values=True):
        out.append(value)
    out.extend([unquote(v) for v in out])
    return [s for s in out if s]


def scrub(text: Optional[str], secrets: Iterable[str]) -> Optional[str]:
    """``text`` with every secret (and anything shaped like an OpenAI key) replaced by ``***``."""
    if not text:
        return text
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return _OPENAI_KEY.sub("sk-***", text)
