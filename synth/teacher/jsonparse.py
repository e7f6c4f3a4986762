"""Lenient JSON out of a model answer."""
from __future__ import annotations

import json
import re
from typing import Any, Optional

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def extract_json(text: Optional[str]) -> Optional[Any]:
    """The first JSON object (or array) in a model answer: plain, in a code fence, or
    inside prose. None when there is none (the caller counts a parse failure)."""
    if not text:
        return None
    candidates = [text.strip()] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for cand in candidates:
        try:
            return json.loads(cand)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                value, _ = decoder.raw_decode(text[i:])
            except ValueError:
                continue
            if isinstance(value, (dict, list)) and value:
                return value
    return None
