"""The Python floor for bench_core.py --floor: a server that does only what any Python server
on uvloop and hiredis must do per request (read, parse, one reply, one write per read), and
nothing a Redis command does. Its CPU per request, next to Redis's and Ember's, tells how much
of Ember's cost is the runtime and how much is Ember's own command path.

    python bench/null_server.py PORT

Answers PING with PONG, SET with OK, GET with a 3-byte value (redis-benchmark's), anything
else with OK. Loopback only.
"""

from __future__ import annotations

import asyncio
import sys

import hiredis
import uvloop

REPLIES = {b"PING": b"+PONG\r\n", b"ping": b"+PONG\r\n", b"GET": b"$3\r\nxxx\r\n", b"get": b"$3\r\nxxx\r\n"}
OK = b"+OK\r\n"


class NullProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.reader = hiredis.Reader()

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        replies = []
        while (request := reader.gets()) is not False:
            replies.append(REPLIES.get(request[0], OK))
        self.transport.write(b"".join(replies))


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(NullProtocol, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(serve(int(sys.argv[1])))
