#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: a measure of the code's own cost
# that, unlike req/s on a shared machine, does not move with the neighbours. For before/after
# comparisons of one workload between two builds (run it on each binary).
#
#   bench/callgrind.sh BINARY LABEL [N] [xmlrpc|soap|get|save|reset|xcp]
#   bench/callgrind.sh target/release/passlink after 2000 xmlrpc
#
# Starts BINARY under callgrind on a free loopback port with a temporary data directory,
# registers one user, sends 20 warm-up requests, zeroes the counters (callgrind_control -z),
# sends N requests one after another on one keep-alive connection, dumps the counters
# (callgrind_control -d) and prints "LABEL KIND Ir/req=…". Workloads: XML-RPC and SOAP
# getServerCapabilities, GET of a stored 4,096-byte file, saveMultipleFiles of that file, GET of
# the user's reset page (a link from `passlink user reset-link`), or XCP send_password for a
# domain of a reseller (its mail goes to the spool: no SMTP host is set).
# Counts for the same binary repeat to within about 2% (the mailer's tick and timers differ).
# Needs valgrind (Debian's valgrind) and python3.
set -euo pipefail
command -v valgrind >/dev/null || { echo "bench/callgrind.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
BIN="$1"; LABEL="$2"; N="${3:-2000}"; KIND="${4:-xmlrpc}"
T=$(mktemp -d)
PID=""
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; rm -rf "$T"' EXIT
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat > $T/p.toml <<C
[server]
listen = "127.0.0.1:$PORT"
[storage]
data_dir = "$T/data"
[log]
level = "warn"
[reset]
max_per_login_per_hour = 1000000000
ip_burst = 1000000000
ip_refill_per_minute = 1000000000
C
valgrind --tool=callgrind --callgrind-out-file=$T/cg.out "$BIN" serve --config $T/p.toml > $T/log 2>&1 &
PID=$!
for i in $(seq 300); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
python3 - "$PORT" "$N" "$KIND" "$PID" "$T" "$BIN" <<'PY'
import http.client, sys, subprocess, re
port, n, kind, pid, t, binary = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
# md5("Tundra-47-Violet-bench"): not a common password, which registerUser refuses (issue 19).
MD5="cd335034dc1445bc7c767910b638a735"
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
def post(path, body, extra={}):
    h = {"Content-Type": "text/xml"}; h.update(extra)
    c.request("POST", path, body, h); r = c.getresponse(); d = r.read(); assert r.status == 200, (r.status, d); return d.decode()
reg = post("/RPC2", '<?xml version="1.0"?><methodCall><methodName>xmlStorageSystem.registerUser</methodName><params><param><value>b@example.com</value></param><param><value>Bench</value></param><param><value>%s</value></param><param><value><int>5335</int></value></param><param><value>bench</value></param></params></methodCall>' % MD5)
u = re.search(r"<name>usernum</name><value><string>(\d{7})</string>", reg).group(1)
if kind == "soap":
    path, extra, ok = "/xmlStorageSystem", {"SOAPAction": '"/xmlStorageSystem"'}, '<flError xsi:type="xsd:boolean">0</flError>'
    body = ("<?xml version='1.0' encoding='UTF-8'?>\n<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap-env:Body><ns0:getServerCapabilities xmlns:ns0=\"urn:xmlStorageSystem\"><email>b@example.com</email><password>%s</password></ns0:getServerCapabilities></soap-env:Body></soap-env:Envelope>" % MD5)
elif kind in ("get", "save"):
    import base64
    data = ("x" * 4095 + "\n")
    save = '<?xml version="1.0"?><methodCall><methodName>xmlStorageSystem.saveMultipleFiles</methodName><params><param><value>%s</value></param><param><value>%s</value></param><param><value><array><data><value>bench/file.txt</value></data></array></value></param><param><value><array><data><value><base64>%s</base64></value></data></array></value></param></params></methodCall>' % (u, MD5, base64.b64encode(data.encode()).decode())
    assert "<boolean>0</boolean>" in post("/RPC2", save)
    if kind == "save":
        path, extra, ok, body = "/RPC2", {}, "<boolean>0</boolean>", save
else:
    path, extra, ok = "/RPC2", {}, "<name>flError</name><value><boolean>0</boolean>"
    body = '<?xml version="1.0"?><methodCall><methodName>xmlStorageSystem.getServerCapabilities</methodName><params><param><value>%s</value></param><param><value>%s</value></param></params></methodCall>' % (u, MD5)
def get():
    c.request("GET", "/users/%s/bench/file.txt" % u); r = c.getresponse(); d = r.read(); assert r.status == 200 and len(d) == 4096, (r.status, len(d)); return "ok"
if kind == "get":
    post = lambda p, b, e: get(); path = body = extra = None; ok = "ok"
if kind == "xcp":
    import hashlib
    cli = lambda *a, stdin=None: subprocess.run([binary, *a, "--config", t + "/p.toml"], check=True,
                                                capture_output=True, text=True, input=stdin).stdout
    key = re.search(r"\(shown only now\): (\w+)", cli("reseller", "add", "bench")).group(1)
    cli("domain", "add", "example.info", "--reseller", "bench", "--profile", "alice",
        "--owner-email", "owner@example.info", "--admin-email", "admin@example.info",
        "--password-stdin", stdin="Tundra-47-Violet\n")
    md5 = lambda b: hashlib.md5(b).hexdigest()
    xbody = ("<?xml version='1.0' encoding=\"UTF-8\" standalone=\"no\" ?>\n<!DOCTYPE OPS_envelope SYSTEM \"ops.dtd\">\n"
             "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc>"
             "<item key=\"protocol\">XCP</item><item key=\"action\">SEND_PASSWORD</item>"
             "<item key=\"object\">DOMAIN</item><item key=\"attributes\"><dt_assoc>"
             "<item key=\"domain_name\">example.info</item><item key=\"send_to\">owner</item>"
             "<item key=\"sub_user\">0</item></dt_assoc></item></dt_assoc></data_block></body>"
             "</OPS_envelope>").encode()
    sig = md5((md5(xbody + key.encode()) + key).encode())
    def xcp():
        c.request("POST", "/", xbody, {"Content-Type": "text/xml", "X-Username": "bench", "X-Signature": sig})
        r = c.getresponse(); d = r.read(); assert r.status == 200 and b'key="is_success">1<' in d, d[:300]; return "ok"
    post = lambda p, b, e: xcp(); path = body = extra = None; ok = "ok"
if kind == "reset":
    out = subprocess.run([binary, "user", "reset-link", "b@example.com", "--config", t + "/p.toml"],
                         check=True, capture_output=True, text=True).stdout
    reset_path = "/reset/" + re.search(r"/reset/([A-Za-z0-9_-]{43})", out).group(1)
    def page():
        c.request("GET", reset_path, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
        r = c.getresponse(); d = r.read(); assert r.status == 200 and b"csrf" in d, (r.status, d[:200]); return "ok"
    post = lambda p, b, e: page(); path = body = extra = None; ok = "ok"
for _ in range(20): assert ok in post(path, body, extra)
subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
for _ in range(n): post(path, body, extra)
subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
PY
kill $PID; wait $PID || true
TOT=$(awk '/^(summary|totals):/ {print $2; exit}' $T/cg.out.1)
echo "$LABEL $KIND Ir/req=$((TOT / N))"
cp $T/cg.out.1 "${CALLGRIND_KEEP:-/dev/null}" 2>/dev/null || true
