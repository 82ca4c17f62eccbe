"""A plain SMTP relay that accepts every mail and keeps only a line about
it, for the outbox's throughput test and benchmark: the time it was
accepted (monotonic seconds), how many SMTP sessions were open and how many
mails were being received at that moment, and the recipients. With
--delay-ms it takes that long over each mail (a slow relay), so that mails
sent side by side are seen side by side.

    python counting_relay.py --port PORT --log FILE [--delay-ms MS]
"""

import argparse
import asyncio
import time

from aiosmtpd.smtp import SMTP


class Sessions:
    """The sessions open, and the mails being received, right now."""

    open = 0
    receiving = 0


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        Sessions.open += 1
        super().connection_made(transport)

    def connection_lost(self, error):
        Sessions.open -= 1
        super().connection_lost(error)


class Counter:
    """aiosmtpd's handler: one line per mail, flushed at once."""

    def __init__(self, log, delay):
        self.log = log
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        Sessions.receiving += 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            to = ",".join(envelope.rcpt_tos)
            self.log.write(f"{time.monotonic():.6f} {Sessions.open} {Sessions.receiving} {to}\n")
            self.log.flush()
        finally:
            Sessions.receiving -= 1
        return "250 Message accepted for delivery"


async def serve(args):
    with open(args.log, "a", encoding="utf-8") as log:
        handler = Counter(log, args.delay_ms / 1000)
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
    parser.add_argument("--delay-ms", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
