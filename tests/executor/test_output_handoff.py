"""OutputHandoff: a thread hands a step's output to the event loop, a bounded number of chunks at
a time; closing it lets a thread blocked on a full one go, and discards what comes later. No
Docker here: a plain thread plays the one reading the container's stream."""

from __future__ import annotations

import asyncio
import threading

from tingle.executor.output_handoff import OutputHandoff

WAIT = 10.0  # seconds to wait for a thread that should be done long before; never asserted on


class Reader(threading.Thread):
    """Puts `chunks` chunks, then the end (None), as tingle.executor.docker's pump does."""

    def __init__(self, handoff: OutputHandoff, chunks: int) -> None:
        super().__init__(daemon=True)
        self._handoff = handoff
        self._chunks = chunks
        self.handed = 0  # chunks the handoff took
        self.discarded = 0

    def run(self) -> None:
        for n in range(self._chunks):
            if self._handoff.put(f"{n}\n".encode()):
                self.handed += 1
            else:
                self.discarded += 1
        self._handoff.put(None)


async def until(reader: Reader, handed: int) -> None:
    """Wait (the loop free meanwhile) until the reader handed `handed` chunks over."""
    for _ in range(int(WAIT / 0.01)):
        if reader.handed >= handed:
            return
        await asyncio.sleep(0.01)


async def test_a_full_handoff_holds_the_reader_back_until_the_loop_takes_a_chunk() -> None:
    handoff = OutputHandoff(asyncio.get_running_loop(), max_chunks=4)
    reader = Reader(handoff, 1000)
    reader.start()
    await until(reader, 4)
    await asyncio.sleep(0.05)  # room for it to run ahead, were it not held back
    assert reader.handed == 4  # never more than the bound, however long we wait
    assert await handoff.get() == b"0\n"
    await until(reader, 5)
    assert reader.handed == 5
    taken = [await handoff.get() for _ in range(4)]
    assert taken == [b"1\n", b"2\n", b"3\n", b"4\n"]
    handoff.close()
    reader.join(WAIT)


async def test_every_chunk_then_the_end_arrive_in_order() -> None:
    handoff = OutputHandoff(asyncio.get_running_loop(), max_chunks=2)
    reader = Reader(handoff, 500)
    reader.start()
    got = []
    while (chunk := await handoff.get()) is not None:
        got.append(chunk)
    assert got == [f"{n}\n".encode() for n in range(500)]
    await asyncio.to_thread(reader.join, WAIT)
    assert not reader.is_alive()


async def test_closing_lets_a_blocked_reader_go_and_discards_what_it_reads_later() -> None:
    """After a timeout the loop takes what waits (at most the bound) and closes: the reader,
    blocked on a full handoff, reads the rest of its stream to the end and hands nothing on."""
    handoff = OutputHandoff(asyncio.get_running_loop(), max_chunks=4)
    reader = Reader(handoff, 1000)
    reader.start()
    await until(reader, 4)
    waiting = handoff.close()
    await asyncio.to_thread(reader.join, WAIT)
    assert not reader.is_alive()  # a bounded queue without close() would hold it for ever
    assert waiting[:4] == [f"{n}\n".encode() for n in range(4)]
    assert reader.handed <= 5  # the 4 waiting, and at most one in flight as it closed
    assert reader.handed + reader.discarded == 1000
    assert len(waiting) + len(handoff.close()) == reader.handed  # twice is safe


async def test_a_reader_that_starts_after_the_close_hands_nothing_on() -> None:
    handoff = OutputHandoff(asyncio.get_running_loop(), max_chunks=1)
    handoff.close()
    reader = Reader(handoff, 10)
    reader.start()
    await asyncio.to_thread(reader.join, WAIT)
    assert (reader.handed, reader.discarded) == (0, 10)
