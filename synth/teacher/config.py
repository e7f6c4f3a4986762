"""Teacher configuration: :class:`TeacherConfig`, and several teachers from one YAML file."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from telecom_etl.synth.teacher.prices import price_for
from telecom_etl.synth.teacher.secrets import redact_url


class TeacherError(ValueError):
    """A bad teacher configuration, as one line."""


@dataclass
class TeacherConfig:
    model: str
    base_url: Optional[str] = None  # None: $OPENAI_BASE_URL, else the OpenAI API
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable holding the key
    name: str = "teacher"  # role name in reports (generator, validator, ...)
    concurrency: int = 8
    rpm: Optional[float] = None  # requests per minute, client side
    tpm: Optional[float] = None  # tokens per minute (prompt estimate + max_tokens), client side
    timeout: float = 120.0  # seconds per request attempt: an overall deadline (headers and whole body)
    max_retries: int = 5  # attempts after the first for server errors, timeouts, broken connections
    retry_base_delay: float = 1.0  # first backoff; doubles per attempt (with jitter)
    retry_max_delay: float = 60.0  # cap of the exponential backoff
    retry_after_max: float = 600.0  # longest single wait a server may ask for (longer: give up the request)
    rate_limit_wait: float = 300.0  # total seconds one request may wait on rate limits (outlasts 1-min windows)
    max_requests: Optional[int] = None  # budget of this teacher: requests sent (cache hits are free)
    max_cost: Optional[float] = None  # budget of this teacher: USD
    max_tokens_total: Optional[int] = None  # budget of this teacher: prompt + completion tokens
    max_answer_bytes: int = 4 << 20  # a larger answer body is refused (not cached)
    cache_dir: Optional[str] = None  # None: no cache
    response_format: str = "json_schema"  # json_schema | json_object | none
    params: Dict[str, Any] = field(default_factory=dict)  # default sampling parameters
    prices: Dict[str, Any] = field(default_factory=dict)  # model -> {input, output} USD per 1M tokens
    batch_discount: float = 0.5  # Batch API price factor
    batch_poll_interval: float = 30.0
    batch_max_requests: int = 50_000  # per submitted batch (OpenAI's limit)
    batch_max_bytes: int = 190 << 20  # per uploaded JSONL file (OpenAI's limit is 200 MB)

    @classmethod
    def from_dict(cls, data: dict, name: Optional[str] = None) -> "TeacherConfig":
        """Build from a YAML/JSON mapping; unknown keys and a literal ``api_key`` are errors."""
        if not isinstance(data, dict):
            raise TeacherError(f"teacher {name or ''}: expected a mapping, got {type(data).__name__}")
        if "api_key" in data:
            raise TeacherError(f"teacher {name or data.get('name', '')}: do not put API keys in config files; "
                               "set api_key_env to the name of an environment variable")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TeacherError(f"teacher {name or data.get('name', '')}: unknown option(s) {', '.join(unknown)} "
                               f"(known: {', '.join(sorted(known))})")
        values = dict(data)
        if name and "name" not in values:
            values["name"] = name
        if not values.get("model"):
            raise TeacherError(f"teacher {values.get('name', '')}: 'model' is required")
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if self.concurrency < 1:
            raise TeacherError(f"teacher {self.name}: concurrency must be >= 1")
        for key in ("rpm", "tpm", "max_cost", "timeout"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise TeacherError(f"teacher {self.name}: {key} must be > 0")
        for key in ("max_requests", "max_tokens_total"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise TeacherError(f"teacher {self.name}: {key} must be >= 0")
        if self.response_format not in ("json_schema", "json_object", "none"):
            raise TeacherError(f"teacher {self.name}: response_format must be json_schema, json_object or none")
        for model, price in self.prices.items():
            if not (isinstance(price, dict) and set(price) <= {"input", "output"}) and not (
                    isinstance(price, (list, tuple)) and len(price) == 2):
                raise TeacherError(f"teacher {self.name}: price of {model} must be {{input: USD/1M, output: USD/1M}}")

    def public(self) -> dict:
        """The config for reports: never a key (only the variable's name), and a ``base_url``
        without the credentials a URL can hold (``user:pass@``, ``?api-key=``)."""
        out = dataclasses.asdict(self)
        out["base_url"] = redact_url(self.base_url)
        return out

    def price(self, model: Optional[str] = None) -> Optional[tuple]:
        return price_for(model or self.model, self.prices)

    @property
    def budgeted(self) -> bool:
        return self.max_requests is not None or self.max_cost is not None or self.max_tokens_total is not None


def load_teachers(data: dict, defaults: Optional[dict] = None) -> Dict[str, TeacherConfig]:
    """``{"teachers": {name: {model: ..., ...}}, "prices": {...}}`` -> name -> config.

    ``defaults`` (e.g. command-line options) fill keys a teacher does not set; a
    top-level ``prices`` table applies to every teacher."""
    if not isinstance(data, dict) or not isinstance(data.get("teachers"), dict) or not data["teachers"]:
        raise TeacherError("teacher config: expected a 'teachers:' mapping of name -> {model: ..., base_url: ...}")
    prices = {**((defaults or {}).get("prices") or {}), **(data.get("prices") or {})}
    out = {}
    for name, spec in sorted(data["teachers"].items()):
        if not isinstance(spec, dict):
            raise TeacherError(f"teacher {name}: expected a mapping")
        merged = {**(defaults or {}), **spec}
        merged["prices"] = {**prices, **(spec.get("prices") or {})}
        out[name] = TeacherConfig.from_dict(merged, name=name)
    return out


def load_teachers_file(path: str, defaults: Optional[dict] = None) -> Dict[str, TeacherConfig]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise TeacherError(f"teacher config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TeacherError(f"teacher config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return load_teachers(data, defaults)
