"""Model prices (USD per million tokens) and what a request costs."""
from __future__ import annotations

from typing import Dict, Optional

#: USD per million tokens (input, output); override with ``TeacherConfig.prices``, the
#: teachers file's ``prices:`` or ``--price MODEL=IN,OUT``.
#: A model is priced by the longest key that prefixes its name (dated snapshots match).
DEFAULT_PRICES: Dict[str, tuple] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}


def price_for(model: str, overrides: Optional[dict] = None) -> Optional[tuple]:
    """(input, output) USD per 1M tokens for ``model``, or None when unknown."""
    table = {k: tuple(v) for k, v in DEFAULT_PRICES.items()}
    for k, v in (overrides or {}).items():
        table[k] = (float(v["input"]), float(v["output"])) if isinstance(v, dict) else (float(v[0]), float(v[1]))
    if model in table:
        return table[model]
    best = max((k for k in table if model.startswith(k)), key=len, default=None)
    return table[best] if best else None


def cost_of(price: Optional[tuple], prompt_tokens: int, completion_tokens: int, factor: float = 1.0) -> float:
    if price is None:
        return 0.0
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6 * factor, 10)


def parse_price_option(value: str) -> tuple:
    """``MODEL=IN,OUT`` (USD per million input and output tokens) -> (model, {input, output});
    ValueError with the expected form otherwise."""
    model, sep, rest = (value or "").partition("=")
    parts = rest.split(",")
    try:
        if not sep or not model.strip() or len(parts) != 2:
            raise ValueError
        price = {"input": float(parts[0]), "output": float(parts[1])}
    except ValueError:
        raise ValueError(f"--price {value!r}: expected MODEL=IN,OUT in USD per million tokens, "
                         "e.g. --price my-model=0.15,0.60") from None
    if price["input"] < 0 or price["output"] < 0:
        raise ValueError(f"--price {value!r}: prices must be >= 0")
    return model.strip(), price


def unknown_price_line(teacher: str, model: str, flag: str = "--max-cost") -> str:
    """The one line that refuses a money budget for a model without a price."""
    return (f"teacher {teacher}: {flag} needs the price of model {model!r}, which is unknown: add "
            f"'prices: {{{model}: {{input: USD/1M, output: USD/1M}}}}' to the teachers file or pass "
            f"--price {model}=IN,OUT (or budget with --max-requests / --max-total-tokens instead)")
