"""A plain SMTP relay that accepts every mail and keeps only a line about
it, for the outbox's throughput test and benchmark: the time it arrived
(monotonic seconds), how many SMTP sessions were open at that moment, and
the recipients.

    python counting_relay.py --port PORT --log FILE
"""

import argparse
import asyncio
import time

from aiosmtpd.smtp import SMTP


class Sessions:
    """The sessions open right now."""

    open = 0


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        Sessions.open += 1
        super().connection_made(transport)

    def connection_lost(self, error):
        Sessions.open -= 1
        super().connection_lost(error)


class Counter:
    """aiosmtpd's handler: one line per mail, flushed at once."""

    def __init__(self, log):
        self.log = log

    async def handle_DATA(self, server, session, envelope):
        self.log.write(f"{time.monotonic():.6f} {Sessions.open} {','.join(envelope.rcpt_tos)}\n")
        self.log.flush()
        return "250 Message accepted for delivery"


async def serve(args):
    with open(args.log, "a", encoding="utf-8") as log:
        handler = Counter(log)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: CountingSMTP(handler), host="127.0.0.1", port=args.port
        )
        async with server:
            await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
