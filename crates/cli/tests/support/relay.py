"""A mail relay for the tests: aiosmtpd speaking STARTTLS (required before
MAIL, as a relay that refuses plain text does), TLS from the first byte, or
plain SMTP. Each message it accepts becomes one JSON file in the inbox
folder: how it came (the TLS version, or null for plain text), the
envelope, the subject and the decoded text body, where a test finds the
link as a person's mail client shows it.

    python relay.py --port PORT --mode starttls|tls|plain --inbox DIR
                    [--cert CERT.pem --key KEY.pem]
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl

from aiosmtpd.smtp import SMTP


class Inbox:
    """aiosmtpd's handler: keeps every message as a file."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        tls = server.transport.get_extra_info("ssl_object")
        record = {
            "tls": tls.version() if tls is not None else None,
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message.get("subject", "")),
            "text": body.get_content() if body is not None else "",
        }
        self.count += 1
        name = os.path.join(self.folder, f"{self.count:04}.json")
        # Written whole, then renamed: a test never reads half a mail.
        with open(name + ".part", "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.rename(name + ".part", name)
        return "250 Message accepted for delivery"


async def serve(args):
    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    handler = Inbox(args.inbox)

    def smtp():
        if args.mode == "starttls":
            return SMTP(handler, tls_context=context, require_starttls=True)
        return SMTP(handler)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        smtp,
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.mode == "tls" else None,
    )
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["starttls", "tls", "plain"], required=True)
    parser.add_argument("--inbox", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
