"""Client-side rate limits shared by every request of one teacher.

* :class:`Bucket`: requests or tokens per minute (token bucket, arrival order);
* :class:`Gate`: a pause of the whole teacher. When a server says "wait N seconds" (a 429
  with a rate-limit header), every request of the teacher waits, not only the one told:
  the others would hit the same exhausted limit."""
from __future__ import annotations

import asyncio
import time


class Bucket:
    """Token bucket refilled at ``per_minute / 60`` per second, holding at most one second's
    worth (a request larger than that waits for a full bucket, then runs into debt).
    Waiters queue on a lock, so they are served in arrival order."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.last = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, n: float) -> None:
        async with self.lock:
            need = min(n, self.capacity)
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
                self.last = now
                if self.tokens >= need:
                    self.tokens -= n
                    return
                await asyncio.sleep((need - self.tokens) / self.rate)


class Gate:
    """Closed until ``until`` (monotonic seconds) once a server asked the teacher to wait."""

    def __init__(self):
        self.until = 0.0
        self.pauses = 0  # how often a server slowed the whole teacher down
        self.waited = 0.0  # seconds the teacher was paused in total

    def close_for(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        if until > self.until:
            self.waited += until - max(self.until, time.monotonic())
            self.until = until
            self.pauses += 1

    async def wait(self) -> float:
        """Wait while closed; the seconds waited."""
        waited = 0.0
        while True:
            left = self.until - time.monotonic()
            if left <= 0:
                return waited
            await asyncio.sleep(left)
            waited += left


# the names this module had inside the one-file client
_Bucket = Bucket
