"""A real OpenAI-compatible HTTP server on loopback, for tests of every LLM stage.

Stdlib only (``ThreadingHTTPServer`` on 127.0.0.1, an ephemeral port, HTTP/1.1
keep-alive and ``TCP_NODELAY``: without it the openai client crawls at ~20 req/s).
It speaks the parts of the API the toolkit uses:

* ``POST /v1/chat/completions``, ``GET /v1/models``
* ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``
* ``POST /v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``: a batch
  is ``validating`` when created, ``in_progress`` at the first retrieve and ``completed``
  at the next (``batch_polls`` sets how many retrieves it takes); every batch line is
  answered by the same responder and recorded like a direct request.

Usage::

    from openai_server import OpenAIServer, answer, status, slow, malformed, truncated, reset

    with OpenAIServer(responder=lambda body: '{"question": "..."}') as server:
        server.base_url                          # http://127.0.0.1:PORT/v1
        server.queue(status(429, retry_after=0.01), status(500))   # next chat requests fail first
        server.when("T300", slow(5))             # requests whose messages contain "T300"
        ... run the client ...
        server.chat_requests()                   # every chat body received, in order
        server.answered_keys()                   # request_key of every 200 answer delivered
        server.count(request_key(body))          # how often one request was received

A responder takes the request body (dict) and returns the answer text (str) or a
reply made with :func:`answer`, :func:`status`, :func:`slow`, :func:`malformed`,
:func:`truncated`, :func:`cut_body`, :func:`reset` or :func:`hang`. The default
responder answers ``"ok: <last user message, first 40 chars>"``.
"""
from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import math
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional


# ---------------------------------------------------------------------------
# replies
# ---------------------------------------------------------------------------

@dataclass
class Reply:
    kind: str  # answer | status | slow | malformed | cut_body | reset | hang | trickle | slow_headers
    content: Optional[str] = None
    finish_reason: str = "stop"
    code: int = 200
    headers: Dict[str, str] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    then: Optional["Reply"] = None
    usage: Optional[dict] = None


def answer(content: str, finish_reason: str = "stop", usage: Optional[dict] = None) -> Reply:
    return Reply("answer", content=content, finish_reason=finish_reason, usage=usage)


def truncated(content: str) -> Reply:
    """An answer cut by the token limit (``finish_reason=length``)."""
    return Reply("answer", content=content, finish_reason="length")


def status(code: int, retry_after: Optional[float] = None, retry_after_ms: Optional[float] = None,
           message: str = "") -> Reply:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    if retry_after_ms is not None:
        headers["retry-after-ms"] = f"{retry_after_ms:g}"
    return Reply("status", code=code, headers=headers, message=message or f"scripted HTTP {code}")


def slow(seconds: float, then: Optional[Reply] = None) -> Reply:
    """Wait ``seconds`` (released early when the server stops), then reply (default: normal answer)."""
    return Reply("slow", seconds=seconds, then=then)


def malformed() -> Reply:
    """HTTP 200 with a body that is not JSON."""
    return Reply("malformed")


def cut_body() -> Reply:
    """HTTP 200 announcing a longer body than it sends, then closing the connection."""
    return Reply("cut_body")


def reset() -> Reply:
    """Close the connection with a TCP reset, no answer."""
    return Reply("reset")


def trickle(seconds: float = 0.2) -> Reply:
    """HTTP 200 and a chunked body that never ends: one blank byte every ``seconds``."""
    return Reply("trickle", seconds=seconds)


def slow_headers(seconds: float = 0.2) -> Reply:
    """The status line and headers one byte every ``seconds`` (never a body)."""
    return Reply("slow_headers", seconds=seconds)


def limited(code: int = 429, **headers: str) -> Reply:
    """An error reply with any headers, e.g. ``limited(**{"llm_provider-retry-after": "60"})``."""
    return Reply("status", code=code, headers=dict(headers), message=f"scripted HTTP {code}")


class Window:
    """A server-side fixed-window rate limit: ``limit`` chat requests per ``seconds``; over it,
    429 with the headers ``headers(seconds_left)`` returns (default: ``Retry-After``). A test
    uses a short window to prove that a client outlasts one, whatever its length."""

    def __init__(self, limit: int, seconds: float, headers: Optional[Callable[[float], Dict[str, str]]] = None):
        self.limit, self.seconds = limit, seconds
        self.headers = headers or (lambda left: {"Retry-After": f"{max(left, 0.001):.3f}"})
        self.start, self.n, self.refused = None, 0, 0
        self._lock = threading.Lock()

    def admit(self) -> Optional[Dict[str, str]]:
        """None when the request may pass, else the headers of its 429."""
        with self._lock:
            now = time.monotonic()
            if self.start is None or now - self.start >= self.seconds:
                self.start, self.n = now, 0
            if self.n < self.limit:
                self.n += 1
                return None
            self.refused += 1
            return self.headers(self.seconds - (now - self.start))


def hang() -> Reply:
    """Never answer (until the server stops)."""
    return Reply("hang")


def request_key(body: dict) -> str:
    """Identity of a chat request as the server sees it (model, messages, all parameters)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Received:
    method: str
    path: str
    body: Any
    headers: Dict[str, str]  # lower-case names
    at: float
    key: Optional[str] = None  # request_key for chat requests (also batch lines)
    via_batch: bool = False


def _default_responder(body: dict) -> str:
    messages = body.get("messages") or []
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    return "ok: " + str(last)[:40]


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class OpenAIServer:
    def __init__(self, responder: Optional[Callable[[dict], Any]] = None, model: str = "test-model",
                 batch_polls: int = 1, batch_api: bool = True, window: Optional["Window"] = None):
        self.responder = responder or _default_responder
        self.model = model
        self.batch_polls = batch_polls
        self.batch_api = batch_api  # False: /v1/files and /v1/batches answer 404, like vLLM or llama.cpp
        self.window = window  # a server-side rate limit (fixed window), see :class:`Window`
        self.requests: List[Received] = []
        self._answered: List[str] = []
        self._queue: List[Reply] = []
        self._when: List[tuple] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.files: Dict[str, bytes] = {}
        self.batches: Dict[str, dict] = {}
        self._ids = 0
        self.httpd: Optional[ThreadingHTTPServer] = None
        self.in_flight = 0  # chat requests being answered now
        self.max_in_flight = 0  # the most at once (a client's real concurrency)

    # ---- scripting --------------------------------------------------------
    def queue(self, *replies: Reply) -> "OpenAIServer":
        """The next chat requests (any content) get these replies first, in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def when(self, needle: str, *replies: Reply) -> "OpenAIServer":
        """Requests whose messages contain ``needle`` get these replies, one per request,
        the last one repeating forever (so ``when("x", status(500))`` always fails)."""
        with self._lock:
            self._when.append((needle, list(replies)))
        return self

    def _scripted(self, body: dict) -> Optional[Reply]:
        text = json.dumps(body.get("messages"), ensure_ascii=False)
        with self._lock:
            for needle, replies in self._when:
                if needle in text:
                    return replies.pop(0) if len(replies) > 1 else replies[0]
            if self._queue:
                return self._queue.pop(0)
        return None

    # ---- records ------------------------------------------------------------
    def chat_requests(self) -> List[dict]:
        with self._lock:
            return [r.body for r in self.requests if r.key is not None]

    def count(self, key: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.key == key)

    def answered_keys(self) -> List[str]:
        """request_key of every chat request answered with a 200 completion (paid for)."""
        with self._lock:
            return list(self._answered)

    def _record(self, rec: Received) -> None:
        with self._lock:
            self.requests.append(rec)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}-{self._ids:06d}"

    # ---- lifecycle ------------------------------------------------------------
    def start(self) -> "OpenAIServer":
        server = self

        class Handler(_Handler):
            owner = server

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # the default listen backlog (5) resets connections under load

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- chat completions -------------------------------------------------------
    def completion(self, body: dict, content: str, finish_reason: str, usage: Optional[dict]) -> dict:
        prompt = sum(_tokens(str(m.get("content") or "")) for m in body.get("messages") or [])
        return {
            "id": self._next_id("chatcmpl"), "object": "chat.completion", "created": 1_700_000_000,
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish_reason, "logprobs": None}],
            "usage": usage or {"prompt_tokens": prompt, "completion_tokens": _tokens(content),
                               "total_tokens": prompt + _tokens(content)},
        }

    def reply_for(self, body: dict) -> Reply:
        scripted = self._scripted(body)
        if scripted is not None:
            return scripted
        got = self.responder(body)
        return got if isinstance(got, Reply) else answer(str(got))

    def resolve(self, body: dict, reply: Reply) -> Reply:
        """Follow slow/then chains to the final reply (waiting as told)."""
        while reply.kind == "slow":
            self._stop.wait(reply.seconds)
            reply = reply.then or self.reply_for_responder(body)
        if reply.kind == "hang":
            self._stop.wait()
        return reply

    def reply_for_responder(self, body: dict) -> Reply:
        got = self.responder(body)
        return got if isinstance(got, Reply) else answer(str(got))

    # ---- batches ------------------------------------------------------------------
    def run_batch(self, batch: dict) -> None:
        lines_out, errors_out = [], []
        for raw in self.files[batch["input_file_id"]].decode("utf-8").splitlines():
            if not raw.strip():
                continue
            item = json.loads(raw)
            body = item["body"]
            key = request_key(body)
            self._record(Received("POST", item["url"], body, {}, time.monotonic(), key, via_batch=True))
            reply = self.resolve(body, self.reply_for(body))
            rid = self._next_id("batch_req")
            if reply.kind == "answer":
                with self._lock:
                    self._answered.append(key)
                lines_out.append({"id": rid, "custom_id": item["custom_id"], "error": None, "response": {
                    "status_code": 200, "request_id": rid,
                    "body": self.completion(body, reply.content, reply.finish_reason, reply.usage)}})
            else:
                code = reply.code if reply.kind == "status" else 500
                errors_out.append({"id": rid, "custom_id": item["custom_id"], "error": None, "response": {
                    "status_code": code, "request_id": rid,
                    "body": {"error": {"message": reply.message or "scripted failure", "type": "server_error"}}}})
        for name, lines in (("output_file_id", lines_out), ("error_file_id", errors_out)):
            if lines:
                fid = self._next_id("file")
                self.files[fid] = ("\n".join(json.dumps(x) for x in lines) + "\n").encode()
                batch[name] = fid
        batch["request_counts"] = {"total": len(lines_out) + len(errors_out), "completed": len(lines_out),
                                   "failed": len(errors_out)}
        batch["status"] = "completed"
        batch["completed_at"] = 1_700_000_100


def _multipart(headers, data: bytes) -> Dict[str, Any]:
    raw = b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + data
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[name] = (part.get_filename(), part.get_payload(decode=True))
    return out


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):  # quiet
        pass

    def _send_json(self, code: int, value: Any, headers: Optional[Dict[str, str]] = None) -> None:
        data = json.dumps(value).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_bytes(self, data: bytes, ctype: str = "application/octet-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, code: int, message: str, headers=None) -> None:
        etype = {429: "rate_limit_exceeded", 400: "invalid_request_error", 401: "invalid_api_key"}.get(code, "server_error")
        self._send_json(code, {"error": {"message": message, "type": etype, "code": None, "param": None}}, headers)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        srv = self.owner
        srv._record(Received("GET", self.path, None, _lower(self.headers), time.monotonic()))
        if self.path.rstrip("/") == "/v1/models":
            return self._send_json(200, {"object": "list", "data": [
                {"id": srv.model, "object": "model", "created": 1_700_000_000, "owned_by": "test"}]})
        if not srv.batch_api and re.match(r"/v1/(files|batches)", self.path):
            return self._error(404, f"no route {self.path}")
        if self.path.split("?")[0].rstrip("/") == "/v1/batches":
            return self._send_json(200, {"object": "list", "data": [], "has_more": False})
        m = re.fullmatch(r"/v1/files/([^/]+)(/content)?", self.path)
        if m and m.group(1) in srv.files:
            if m.group(2):
                return self._send_bytes(srv.files[m.group(1)], "application/jsonl")
            return self._send_json(200, _file_object(m.group(1), srv.files[m.group(1)]))
        m = re.fullmatch(r"/v1/batches/([^/]+)", self.path)
        if m and m.group(1) in srv.batches:
            batch = srv.batches[m.group(1)]
            batch["_polls"] += 1
            if batch["status"] == "validating":
                batch["status"] = "in_progress"
            if batch["_polls"] > srv.batch_polls and batch["status"] == "in_progress":
                srv.run_batch(batch)
            return self._send_json(200, {k: v for k, v in batch.items() if not k.startswith("_")})
        return self._error(404, f"no route {self.path}")

    def do_POST(self):
        self.path, _, self.query = self.path.partition("?")  # routes ignore the query (e.g. ?api-key=)
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): nothing delivered
            self.close_connection = True

    def _post(self):
        srv = self.owner
        raw = self._body()
        if not srv.batch_api and re.match(r"/v1/(files|batches)", self.path):
            srv._record(Received("POST", self.path, None, _lower(self.headers), time.monotonic()))
            return self._error(404, f"no route {self.path}")
        if self.path == "/v1/files":
            parts = _multipart(self.headers, raw)
            srv._record(Received("POST", self.path, {"purpose": (parts.get("purpose") or (None, b""))[1].decode()},
                                 _lower(self.headers), time.monotonic()))
            fid = srv._next_id("file")
            srv.files[fid] = parts["file"][1]
            return self._send_json(200, _file_object(fid, srv.files[fid]))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._error(400, "request body is not JSON")
        if self.path == "/v1/batches":
            srv._record(Received("POST", self.path, body, _lower(self.headers), time.monotonic()))
            if body.get("input_file_id") not in srv.files:
                return self._error(400, "unknown input_file_id")
            bid = srv._next_id("batch")
            batch = {"id": bid, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
                     "input_file_id": body["input_file_id"], "completion_window": body.get("completion_window"),
                     "status": "validating", "output_file_id": None, "error_file_id": None,
                     "created_at": 1_700_000_000, "metadata": body.get("metadata"),
                     "request_counts": {"total": 0, "completed": 0, "failed": 0}, "_polls": 0}
            srv.batches[bid] = batch
            return self._send_json(200, {k: v for k, v in batch.items() if not k.startswith("_")})
        m = re.fullmatch(r"/v1/batches/([^/]+)/cancel", self.path)
        if m and m.group(1) in srv.batches:
            srv.batches[m.group(1)]["status"] = "cancelled"
            return self._send_json(200, {k: v for k, v in srv.batches[m.group(1)].items() if not k.startswith("_")})
        if self.path != "/v1/chat/completions":
            return self._error(404, f"no route {self.path}")
        key = request_key(body)
        srv._record(Received("POST", self.path, body, _lower(self.headers), time.monotonic(), key))
        if not body.get("messages") or not body.get("model"):
            return self._error(400, "'messages' and 'model' are required")
        if srv.window is not None:
            limited = srv.window.admit()
            if limited is not None:
                return self._error(429, "rate limit reached for requests", limited)
        with srv._lock:
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            reply = srv.resolve(body, srv.reply_for(body))
        finally:
            with srv._lock:
                srv.in_flight -= 1
        if reply.kind == "answer":
            completion = srv.completion(body, reply.content, reply.finish_reason, reply.usage)
            self._send_json(200, completion)
            with srv._lock:
                srv._answered.append(key)
        elif reply.kind == "status":
            self._error(reply.code, reply.message, reply.headers)
        elif reply.kind == "malformed":
            data = b'{"id": "chatcmpl-x", "choices": [{"message": {"content": "unterminated'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif reply.kind == "cut_body":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"id": "chatcmpl-x", "choi')
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif reply.kind == "trickle":  # headers, then one byte per `seconds` (a body that never ends)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while not srv._stop.is_set():
                try:
                    self.wfile.write(b"1\r\n \r\n")
                    self.wfile.flush()
                except OSError:
                    break
                srv._stop.wait(reply.seconds)
            self.close_connection = True
        elif reply.kind == "slow_headers":  # the status line and headers a byte at a time
            for ch in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n":
                if srv._stop.wait(reply.seconds):
                    break
                try:
                    self.wfile.write(bytes([ch]))
                    self.wfile.flush()
                except OSError:
                    break
            self.close_connection = True
        elif reply.kind in ("reset", "hang"):
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        else:  # pragma: no cover
            self._error(500, f"unknown scripted reply {reply.kind}")


def _file_object(fid: str, data: bytes) -> dict:
    return {"id": fid, "object": "file", "bytes": len(data), "created_at": 1_700_000_000,
            "filename": "requests.jsonl", "purpose": "batch", "status": "processed"}


def _lower(headers) -> Dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
