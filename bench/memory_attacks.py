#!/usr/bin/env python3
"""The memory attacks of bench/memory.sh, against one running passlink.

    memory_attacks.py --port PORT --pid PID ATTACK [--json OUT]

ATTACK is one of:
  partial-1    200 connections from one address (127.0.0.2), each declaring an 8 MiB body
               and sending all but its last byte, then holding the connection open;
  partial-20   the same 200 connections spread over 20 addresses (127.0.0.10 to .29);
  xmlrpc-i4    six parallel XML-RPC calls of ~6 MB, each an array of 240,000 <i4> values,
               three rounds;
  soap-int     the same as SOAP: six parallel ~6 MB envelopes, each an array of 240,000
               xsd:int items, three rounds.

While an attack runs, a good client (from 127.0.0.1, an address the attack does not use) asks
for /healthz every 50 ms and the latencies of its answers are kept. Reported (JSON): peak RSS
during the attack (VmHWM, reset through /proc/PID/clear_refs before it starts, and the largest
VmRSS sampled every 10 ms, whichever is larger), RSS 10 s after the attack's connections are
closed ("settled"), the good client's p50/p99/max and how many of its requests failed, and what
the attack's requests got back (status lines counted).
"""

import argparse
import json
import selectors
import socket
import sys
import threading
import time

MIB = 1024 * 1024


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssSampler(threading.Thread):
    """Samples VmRSS every 10 ms until stopped; keeps the largest."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            except (OSError, RuntimeError):
                return
            time.sleep(0.01)


class Prober(threading.Thread):
    """A good client: GET /healthz every 50 ms from 127.0.0.1, a new connection each time."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.latencies = []
        self.failures = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                if not data.startswith(b"HTTP/1.1 200 "):
                    self.failures.append(data[:60].decode("latin-1"))
                else:
                    self.latencies.append(time.monotonic() - start)
            except OSError as e:
                self.failures.append(str(e))
            time.sleep(0.05)


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    return s


def read_status(sock, timeout):
    """The status line the server sent, if any, within `timeout`."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except socket.timeout:
        return "no reply yet (the server waits for the rest of the body)"
    except OSError as e:
        return f"no reply ({e.strerror or e})"
    if not data:
        return "closed without a reply"
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def partial_bodies(port, sources, connections, hold_secs):
    """Each connection declares 8 MiB and sends 8 MiB - 1 bytes, then holds.

    One thread drives all the connections with non-blocking sends (a selector): 200 busy
    threads on the server's own machine would take its cores, which remote attackers do not.
    """
    declared = 8 * MIB
    head = (
        "POST /RPC2 HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    piece = b"x" * 65536
    socks = []
    outcomes = {}
    left = {}
    selector = selectors.DefaultSelector()
    for i in range(connections):
        try:
            s = connect_from(sources[i % len(sources)], port)
            s.sendall(head)
        except OSError as e:
            key = f"connect failed: {e.strerror or e}"
            outcomes[key] = outcomes.get(key, 0) + 1
            continue
        s.setblocking(False)
        socks.append(s)
        left[s] = declared - 1
        selector.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + 120
    while left and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            s = key.fileobj
            try:
                sent = s.send(piece[: min(left[s], len(piece))])
                left[s] -= sent
                done = "sent all but the last byte" if left[s] == 0 else None
            except BlockingIOError:
                continue
            except OSError as e:
                done = f"send stopped: {e.strerror or e}"
            if done:
                outcomes[done] = outcomes.get(done, 0) + 1
                selector.unregister(s)
                del left[s]
    for s in list(left):
        outcomes["still sending at the deadline"] = outcomes.get("still sending at the deadline", 0) + 1
    selector.close()
    for s in socks:
        s.setblocking(True)
    time.sleep(hold_secs)
    replies = {}
    for s in socks:
        status = read_status(s, 0.2)
        replies[status] = replies.get(status, 0) + 1
    return socks, {"sends": outcomes, "replies": replies}


def xmlrpc_i4_body(items):
    values = "<value><i4>1</i4></value>" * items
    return (
        "<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.getServerCapabilities"
        "</methodName><params><param><value><string>0000001</string></value></param>"
        "<param><value><string>0123456789abcdef0123456789abcdef</string></value></param>"
        f"<param><value><array><data>{values}</data></array></value></param></params></methodCall>"
    ).encode()


def soap_int_body(items):
    values = '<i xsi:type="xsd:int">1</i>' * items
    return (
        '<?xml version="1.0"?><SOAP-ENV:Envelope '
        'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><SOAP-ENV:Body>'
        '<m:getServerCapabilities xmlns:m="urn:xmlStorageSystem">'
        '<email xsi:type="xsd:string">a@example.org</email>'
        '<password xsi:type="xsd:string">0123456789abcdef0123456789abcdef</password>'
        f'<list xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:int[{items}]">{values}</list>'
        "</m:getServerCapabilities></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def post(port, path, body, headers, timeout=120):
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\nConnection: close\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(head.encode() + body)
        except OSError:
            pass
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def parallel_calls(port, path, body, headers, parallel, rounds):
    replies = {}
    lock = threading.Lock()

    def one():
        data = post(port, path, body, headers)
        status = data.split(b"\r\n", 1)[0].decode("latin-1") or "no reply"
        # The first fault string or flError says what the call got back.
        text = data.decode("utf-8", "replace")
        detail = ""
        for marker in ("<name>faultString</name><value><string>", "<faultstring>"):
            if marker in text:
                detail = text.split(marker, 1)[1][:80].split("<", 1)[0]
                break
        key = f"{status} {detail}".strip()
        with lock:
            replies[key] = replies.get(key, 0) + 1

    for _ in range(rounds):
        threads = [threading.Thread(target=one, daemon=True) for _ in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    return {"replies": replies, "body_bytes": len(body)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--json")
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("attack", choices=["partial-1", "partial-20", "xmlrpc-i4", "soap-int"])
    args = parser.parse_args()

    before_kb = status_kb(args.pid, "VmRSS")
    peak_reset = reset_peak(args.pid)
    sampler = RssSampler(args.pid)
    prober = Prober(args.port)
    sampler.start()
    prober.start()
    started = time.monotonic()
    socks = []
    if args.attack == "partial-1":
        socks, detail = partial_bodies(args.port, ["127.0.0.2"], 200, hold_secs=2)
    elif args.attack == "partial-20":
        sources = [f"127.0.0.{n}" for n in range(10, 30)]
        socks, detail = partial_bodies(args.port, sources, 200, hold_secs=2)
    elif args.attack == "xmlrpc-i4":
        detail = parallel_calls(args.port, "/RPC2", xmlrpc_i4_body(240_000), [], 6, 3)
    else:
        detail = parallel_calls(
            args.port,
            "/xmlStorageSystem",
            soap_int_body(240_000),
            [("SOAPAction", '"/xmlStorageSystem"')],
            6,
            3,
        )
    attack_secs = time.monotonic() - started
    prober.stop.set()
    prober.join()
    sampler.stop.set()
    sampler.join()
    alive = True
    try:
        hwm_kb = status_kb(args.pid, "VmHWM") if peak_reset else 0
    except (OSError, RuntimeError):
        alive = False
        hwm_kb = 0
    peak_kb = max(hwm_kb, sampler.peak_kb)
    for s in socks:
        s.close()
    time.sleep(args.settle)
    try:
        settled_kb = status_kb(args.pid, "VmRSS")
    except (OSError, RuntimeError):
        alive = False
        settled_kb = 0
    result = {
        "attack": args.attack,
        "alive": alive,
        "rss_before_kb": before_kb,
        "peak_rss_kb": peak_kb,
        "settled_rss_kb": settled_kb,
        "settle_secs": args.settle,
        "attack_secs": round(attack_secs, 2),
        "probe_requests": len(prober.latencies) + len(prober.failures),
        "probe_failures": len(prober.failures),
        "probe_failure_examples": prober.failures[:3],
        "probe_p50_ms": round(1000 * (percentile(prober.latencies, 50) or 0), 2),
        "probe_p99_ms": round(1000 * (percentile(prober.latencies, 99) or 0), 2),
        "probe_max_ms": round(1000 * max(prober.latencies, default=0), 2),
        "detail": detail,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
