"""A real SMTP server for passlink's integration tests (Debian's python3-aiosmtpd).

    /usr/bin/python3 smtp_sink.py --port PORT --maildir DIR [--starttls --cert C --key K]
    /usr/bin/python3 smtp_sink.py --make-cert DIR

Listens on 127.0.0.1:PORT (0 picks a free port), files every message it receives in DIR as
NNNNNN-<uuid>.eml (written under a temporary name, then renamed, so a reader never sees half a
message), prints `READY 127.0.0.1:<port>` once listening, and runs until SIGTERM or SIGINT.
With --starttls the server offers STARTTLS with the given certificate and refuses mail from a
client that did not upgrade. --make-cert writes a self-signed cert.pem/key.pem for
localhost and 127.0.0.1 with the openssl command line tool.
"""

import argparse
import itertools
import os
import signal
import ssl
import subprocess
import sys
import threading
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        name = "%06d-%s.eml" % (n, uuid.uuid4().hex)
        tmp = os.path.join(self.maildir, "." + name + ".tmp")
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        header = ("X-Envelope-To: %s\r\n" % ", ".join(envelope.rcpt_tos)).encode()
        with open(tmp, "wb") as f:
            f.write(header + content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.maildir, name))
        return "250 Message accepted for delivery"


def make_cert(directory):
    os.makedirs(directory, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", os.path.join(directory, "key.pem"),
         "-out", os.path.join(directory, "cert.pem")],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--maildir")
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--make-cert", metavar="DIR")
    args = parser.parse_args()

    if args.make_cert:
        make_cert(args.make_cert)
        return 0
    if not args.maildir:
        parser.error("--maildir is required")

    kwargs = {}
    if args.starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        kwargs = {"tls_context": context, "require_starttls": True}

    port = args.port
    if port == 0:
        # aiosmtpd needs a concrete port; take one the kernel says is free.
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]

    controller = Controller(Sink(args.maildir), hostname="127.0.0.1", port=port,
                            ready_timeout=10, **kwargs)
    controller.start()
    print("READY 127.0.0.1:%d" % port, flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
