"""xmlStorageSystem over TLS with the standard library's xmlrpc.client and urllib, trusting the
test CA and nothing else. Usage: xss_tls.py BASE_URL CA_FILE  (BASE_URL: https://127.0.0.1:PORT)
Prints one line per step and exits non-zero at the first failed check."""
import hashlib
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client as x

base = sys.argv[1].rstrip("/")
cafile = sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
s = x.ServerProxy(base + "/RPC2", context=ctx)
pw = hashlib.md5(b"asdf").hexdigest()


def check(cond, what, got=None):
    if not cond:
        print("FAIL:", what, repr(got))
        sys.exit(1)
    print("ok:", what)


def get(url, context=ctx):
    with urllib.request.urlopen(url, timeout=10, context=context) as r:
        return r.status, r.headers, r.read()


r = s.xmlStorageSystem.registerUser("tls@example.org", "TLS user", pw, 80, "xss_tls.py")
check(r["flError"] is False, "registerUser over TLS", r)
u = r["usernum"]

caps = s.xmlStorageSystem.getServerCapabilities(u, pw)
check(caps["flError"] is False, "getServerCapabilities over TLS", caps)
folder = caps["yourUpstreamFolderUrl"]
check(folder.startswith("https://"), "yourUpstreamFolderUrl is https", folder)
check(folder == "%s/users/%s/" % (base, u), "upstream folder URL", folder)

payload = bytes(range(256)) * 4
# Large enough for many TLS records each way (a request of about 1.2 MB).
big = bytes((i * 7919) % 251 for i in range(900 * 1024))
saved = s.xmlStorageSystem.saveMultipleFiles(
    u, pw, ["tls.html", "blah/pic.gif", "big.zip"],
    ["<html>saved over TLS</html>", x.Binary(payload), x.Binary(big)])
check(saved["flError"] is False, "saveMultipleFiles over TLS", saved)
urls = saved["urlList"]
check(urls == [folder + "tls.html", folder + "blah/pic.gif", folder + "big.zip"],
      "URLs of saved files are https", urls)
status, headers, body = get(urls[0])
check(status == 200 and body == b"<html>saved over TLS</html>", "GET the saved page over TLS", body)
status, headers, body = get(urls[1])
check(status == 200 and body == payload, "GET the saved binary over TLS, byte-exact", len(body))
status, headers, body = get(urls[2])
check(status == 200 and body == big, "GET a 900 KiB file over TLS, byte-exact", len(body))

# Verification is real: a client that trusts only the system's CAs refuses the certificate.
try:
    get(base + "/healthz", context=ssl.create_default_context())
    check(False, "the system CAs do not vouch for the test certificate")
except urllib.error.URLError as e:
    check(isinstance(e.reason, ssl.SSLCertVerificationError),
          "the system CAs do not vouch for the test certificate", e)

# TLS 1.2 and 1.3 both work; no ALPN is chosen even when h2 is offered (HTTP/1.1 only).
host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    c = ssl.create_default_context(cafile=cafile)
    c.minimum_version = c.maximum_version = version
    c.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((host, port), timeout=10) as raw:
        with c.wrap_socket(raw, server_hostname=host) as t:
            check(t.version() == version.name.replace("v1_", "v1."), "handshake with " + version.name,
                  t.version())
            check(t.selected_alpn_protocol() is None, "no ALPN protocol selected",
                  t.selected_alpn_protocol())
            t.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            reply = b""
            while True:
                chunk = t.recv(4096)
                if not chunk:
                    break
                reply += chunk
            check(reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"\r\n\r\nok\n"),
                  "GET /healthz over " + version.name, reply)
print("ALL OK")
