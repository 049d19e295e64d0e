"""A real SMTP server for passlink's integration tests, on Debian's python3-aiosmtpd.

Run it with /usr/bin/python3: python3-aiosmtpd is installed for the Debian interpreter only.

    /usr/bin/python3 smtp_server.py --port PORT --maildir DIR [--starttls --cert CERT --key KEY]
    /usr/bin/python3 smtp_server.py --make-cert DIR

Serve mode listens on 127.0.0.1:PORT (0 lets the kernel pick a free port), accepts any sender
and any recipient without authentication, and files every message in DIR as
`NNNNNNNN-<uuid>.eml`: the raw message bytes after an `X-Envelope-To:` header naming the
envelope recipients. The name sorts in arrival order. Each file is written under a hidden
`.tmp` name in DIR and then renamed, so a reader globbing `*.eml` never sees half a message.
Once listening it prints exactly one line, `READY 127.0.0.1:<port>`, and runs until SIGTERM or
SIGINT, then exits 0.

With --starttls the server offers STARTTLS with CERT/KEY (PEM) and answers
`530 Must issue a STARTTLS command first` to a client that sends MAIL FROM without upgrading.

--make-cert writes a self-signed DIR/cert.pem and DIR/key.pem for localhost and 127.0.0.1
(both in subjectAltName), valid for 2 days, with the openssl command line tool, then exits.
"""

import argparse
import email
import email.policy
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import uuid

try:
    from aiosmtpd.controller import Controller
except ImportError:  # checked here so the failure says what to install and how to run it
    sys.exit("smtp_server.py: aiosmtpd is missing; run with /usr/bin/python3 "
             "and install python3-aiosmtpd")

HOST = "127.0.0.1"
# Controller.start() waits this long for the listener; a busy CI box can be slow.
READY_TIMEOUT = 15
# How long shutdown may take before we give up on a clean stop and exit anyway.
STOP_TIMEOUT = 10
NAME = re.compile(r"^(\d+)-[0-9a-f]{32}\.eml$")


def decoded(content):
    """The message's subject and text parts, decoded."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    parts = ["Subject: %s" % message.get("Subject", "")]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append("[%s]\n%s" % (part.get_content_type(), part.get_content()))
    return "\n".join(parts)


class Maildir:
    """aiosmtpd handler that files each message as its own .eml file."""

    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        # Continue after what is already there: tests restart the server on the same
        # directory (an SMTP outage) and still expect names to sort in arrival order.
        self.counter = max((int(m.group(1)) for m in map(NAME.match, os.listdir(directory))
                            if m), default=0)

    def next_name(self):
        with self.lock:
            self.counter += 1
            return "%08d-%s.eml" % (self.counter, uuid.uuid4().hex)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Accept anything: the default handler would too, but saying so keeps it explicit.
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # original_content is the bytes as received (dot-unstuffed), untouched by any
        # decoding, so the test sees exactly what passlink sent.
        content = envelope.original_content
        if content is None:
            content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        header = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n" % (
            envelope.mail_from, ", ".join(envelope.rcpt_tos))
        name = self.next_name()
        tmp = os.path.join(self.directory, ".%s.tmp" % name)
        try:
            # Beside it, before it: the subject and each text part decoded (quoted-printable,
            # base64, RFC 2047), for tests that read a German or Japanese mail's words.
            with open(os.path.join(self.directory, name + ".decoded"), "w",
                      encoding="utf-8") as f:
                f.write(decoded(content))
            with open(tmp, "wb") as f:
                f.write(header.encode("utf-8") + content)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, os.path.join(self.directory, name))
        except OSError as e:
            # A transient failure tells the client to retry rather than losing the message.
            print("smtp_server.py: cannot store message: %s" % e, file=sys.stderr, flush=True)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return "451 Requested action aborted: local error in processing"
        return "250 Message accepted for delivery"


class SocketController(Controller):
    """Controller serving on a socket we bound ourselves.

    Stock Controller cannot use port 0: it passes 0 to create_server and then connects to
    port 0 to check the server is up. Picking a port beforehand (bind, close, reuse) races
    with other tests. And when the bind fails, Controller.start() only notices after its
    whole ready_timeout. Binding here, in the caller's thread, fails at once and keeps the
    port the kernel chose.
    """

    def __init__(self, handler, sock, **kwargs):
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self.sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.sock,
                                       ssl=self.ssl_context)


def make_cert(directory):
    os.makedirs(directory, exist_ok=True)
    cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
           "-subj", "/CN=localhost",
           "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
           # openssl marks -x509 certificates CA:TRUE by default; rustls/webpki then refuses
           # the certificate as a server's own ("CaUsedAsEndEntity") even when it is trusted.
           "-addext", "basicConstraints=critical,CA:FALSE",
           "-addext", "extendedKeyUsage=serverAuth",
           "-keyout", os.path.join(directory, "key.pem"),
           "-out", os.path.join(directory, "cert.pem")]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        sys.exit("smtp_server.py: openssl failed: %s" % e)
    if done.returncode != 0:
        sys.exit("smtp_server.py: openssl failed:\n%s"
                 % done.stderr.decode("utf-8", "replace"))


def tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser(
        description="SMTP server for integration tests (see the module docstring).")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--maildir", help="where received messages are written")
    parser.add_argument("--starttls", action="store_true",
                        help="offer STARTTLS and refuse mail without it")
    parser.add_argument("--cert", help="PEM certificate for --starttls")
    parser.add_argument("--key", help="PEM private key for --starttls")
    parser.add_argument("--make-cert", metavar="DIR",
                        help="write a self-signed DIR/cert.pem and DIR/key.pem and exit")
    args = parser.parse_args()

    if args.make_cert:
        make_cert(args.make_cert)
        return 0
    if not args.maildir:
        parser.error("--maildir is required")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    if args.starttls and not (args.cert and args.key):
        parser.error("--starttls needs --cert and --key")
    os.makedirs(args.maildir, exist_ok=True)

    kwargs = {}
    if args.starttls:
        try:
            kwargs = {"tls_context": tls_context(args.cert, args.key), "require_starttls": True}
        except (OSError, ssl.SSLError) as e:
            sys.exit("smtp_server.py: cannot load %s / %s: %s" % (args.cert, args.key, e))

    stop = threading.Event()
    # Install handlers before starting, so a SIGTERM that arrives right after READY is not
    # lost to the default action (which would exit non-zero).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    try:
        sock = socket.create_server((HOST, args.port))
    except OSError as e:
        sys.exit("smtp_server.py: cannot listen on %s:%d: %s" % (HOST, args.port, e))
    # server_hostname: aiosmtpd otherwise calls socket.getfqdn(), which can stall for
    # seconds on a box whose resolver is unreachable.
    controller = SocketController(Maildir(args.maildir), sock, server_hostname="localhost",
                                  ready_timeout=READY_TIMEOUT, **kwargs)
    try:
        controller.start()
    except Exception as e:  # a timeout on a starved box: one clear line, non-zero exit
        sys.exit("smtp_server.py: the SMTP server did not start: %s" % e)
    print("READY %s:%d" % (HOST, controller.port), flush=True)

    # A timed wait keeps the main thread returning to the interpreter, where signal
    # handlers run.
    while not stop.wait(0.5):
        pass

    # controller.stop() joins the server thread without a limit; don't let a stuck client
    # turn a SIGTERM into a hang.
    stopper = threading.Thread(target=controller.stop, daemon=True)
    stopper.start()
    stopper.join(STOP_TIMEOUT)
    sys.stdout.flush()
    if stopper.is_alive():
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
