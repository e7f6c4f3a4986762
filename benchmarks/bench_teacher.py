"""Requests per second through the teacher client against the loopback OpenAI-compatible server.

    .venv/bin/python benchmarks/bench_teacher.py [--requests 4000]

Columns, all in one run on the same server (tests/openai_server.py, stdlib, TCP_NODELAY):

* the bare ``AsyncOpenAI`` client with a semaphore (the ceiling the server and client allow);
* ``Teacher.complete_many`` without a cache (rate limiter, retries and accounting on);
* ``Teacher.complete_many`` with the disk cache (one fsynced file per answer);
* a re-run answered from the cache (no request sent).

The server is Python threads on the same cores, so the numbers say how much the client
adds, not what a real endpoint delivers (those are bound by the endpoint's rate limits).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from openai_server import OpenAIServer  # noqa: E402
from telecom_etl.synth.teacher import ChatRequest, Teacher, TeacherConfig  # noqa: E402


def requests(tag: str, n: int):
    return [ChatRequest(messages=[{"role": "user", "content": f"{tag} question {i} " + "x" * 400}]) for i in range(n)]


async def bare(base_url: str, n: int, concurrency: int) -> float:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="x", base_url=base_url, max_retries=3)
    sem = asyncio.Semaphore(concurrency)

    async def one(i):
        async with sem:
            return await client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"bare {i}"}])

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    await client.close()
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, nargs="*", default=[8, 32])
    args = ap.parse_args()
    n = args.requests
    with OpenAIServer() as server:
        print(f"{'client':<34}{'concurrency':>12}{'req/s':>10}")
        for conc in args.concurrency:
            print(f"{'bare AsyncOpenAI':<34}{conc:>12}{asyncio.run(bare(server.base_url, n, conc)):>10.0f}")
            for cached in (False, True):
                folder = tempfile.mkdtemp(prefix="bench-teacher-") if cached else None
                cfg = TeacherConfig(model="gpt-4o-mini", base_url=server.base_url, concurrency=conc, cache_dir=folder)
                batch = requests(f"c{conc}-{cached}", n)
                with Teacher(cfg) as teacher:
                    start = time.perf_counter()
                    results = teacher.complete_many(batch)
                    rate = n / (time.perf_counter() - start)
                    assert all(r.ok for r in results)
                    label = "Teacher, disk cache" if cached else "Teacher, no cache"
                    print(f"{label:<34}{conc:>12}{rate:>10.0f}")
                    if cached:
                        start = time.perf_counter()
                        again = teacher.complete_many(batch)
                        rate = n / (time.perf_counter() - start)
                        assert all(r.cached for r in again)
                        print(f"{'Teacher, re-run from the cache':<34}{conc:>12}{rate:>10.0f}")


if __name__ == "__main__":
    main()
