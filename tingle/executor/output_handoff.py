"""Hands a step's output from the thread reading the container's stream to the event loop, a
bounded number of chunks at a time.

The docker SDK's stream is synchronous, so a thread reads it (tingle.executor.docker). Unbounded,
that thread queued a flood faster than the loop could pass it on: the worker's memory grew with
it, and after a timeout everything queued was still forwarded, long past the deadline. Bounded, a
full handoff blocks the thread, so it stops reading and the container's writes wait in turn
(backpressure, as a pipe to a slow reader gives).

Once the loop stops taking chunks (the step timed out, failed or was cancelled) it closes the
handoff: a thread blocked on a full one is let go, and later chunks are discarded, so the thread
reads the stream to its end (the container is killed or removed) and never hangs on a consumer
that is gone.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

MAX_CHUNKS = 64  # the docker stream's chunks are at most tens of KiB: a few MiB in flight at most


class OutputHandoff:
    def __init__(self, loop: asyncio.AbstractEventLoop, max_chunks: int = MAX_CHUNKS) -> None:
        self._loop = loop
        # Appended by the thread, taken by the loop (deque's append and popleft are atomic), so
        # what the thread handed over is there at once, for close() too; bounded by the slots.
        self._chunks: deque[bytes | None] = deque()
        self._ready = asyncio.Event()  # set (on the loop) after each chunk the thread hands over
        # A slot per chunk handed over and not yet taken: the thread waits only when all are
        # used, without a round trip through the loop per chunk.
        self._slots = threading.Semaphore(max_chunks)
        self._closed = threading.Event()

    # --- the reading thread -----------------------------------------------------------------

    def put(self, chunk: bytes | None) -> bool:
        """Hand `chunk` (None: the stream ended) to the loop, waiting while the handoff is full.
        False, the chunk discarded, once the loop closed it."""
        if self._closed.is_set():
            return False
        self._slots.acquire()
        if self._closed.is_set():
            self._slots.release()  # woken by close(): no later put must wait either
            return False
        self._chunks.append(chunk)
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the loop is closed: nobody will take it
            return False
        return True

    # --- the event loop -----------------------------------------------------------------------

    async def get(self) -> bytes | None:
        while not self._chunks:
            self._ready.clear()
            if self._chunks:  # handed over between the check and the clear
                break
            await self._ready.wait()
        chunk = self._chunks.popleft()
        self._slots.release()
        return chunk

    def close(self) -> list[bytes]:
        """Take no more chunks; the ones waiting now (at most `max_chunks`: the thread's later
        chunks are discarded). Lets go of a thread blocked on a full handoff."""
        # Closed first, then a slot freed: a thread waiting for one wakes and sees the flag, and
        # one about to wait finds the slot, then the flag. Safe to call twice.
        self._closed.set()
        self._slots.release()
        waiting: list[bytes] = []
        while self._chunks:  # popped, not iterated: a put in flight may still append one
            chunk = self._chunks.popleft()
            if chunk is not None:
                waiting.append(chunk)
        return waiting
