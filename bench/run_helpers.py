#!/usr/bin/env python3
"""Helpers for bench/run.sh: seeding over the protocols, the wrk request tables, reset tokens
from the mail spool, and the report. Standard library only.

    run_helpers.py seed-users BASE N USERS_TSV
    run_helpers.py store-files BASE USERS_TSV PATH TAG
    run_helpers.py warm BASE USERS_TSV [FIRST LAST]
    run_helpers.py capture BASE USERS_TSV RESELLER KEY SPOOL DB OUTDIR
    run_helpers.py gen-requests USERS_TSV RESELLER KEY DOMAINS OUTDIR
    run_helpers.py issue-resets BASE RESELLER KEY FIRST LAST
    run_helpers.py wait-outbox DB TIMEOUT_SECS
    run_helpers.py collect-tokens BASE SPOOL NEWEST OUT_LUA
    run_helpers.py driver REQUESTS_LUA THREADS NOTE MARKER... > DRIVER_LUA
    run_helpers.py report WORKDIR OUT_MD OUT_JSON

Users are bench-NNNN@example.com with the password "benchpass-NNNN" (the wire credential is
its MD5 hex). Domains are bench-NNNN.example, each in its own profile benchprofileNNNN with the
password BenchpassNNNNx. Every HTTP exchange here checks its reply and exits non-zero on a
wrong one, printing the reply.
"""

import concurrent.futures
import glob
import hashlib
import http.client
import json
import os
import quopri
import re
import sqlite3
import sys
import threading
import time
import urllib.parse

FILE_SIZE = 4096
XMLRPC_OK = "<name>flError</name><value><boolean>0</boolean>"
XMLRPC_FAILED = "<name>flError</name><value><boolean>1</boolean>"
SOAP_OK = '<flError xsi:type="xsd:boolean">0</flError>'
SOAP_ACTION = '"/xmlStorageSystem"'
XCP_SUCCESS = '<item key="is_success">1</item>'
XCP_CODE = '<item key="response_code">200</item>'
XCP_COOKIE = '<item key="cookie">'
FILE_MARKER = "passlink bench file"
RESET_FORM = 'id="password"'
PARALLEL = 16
SEND_PASSWORD_TEMPLATE = "tests/fixtures/opensrs/net-opensrs-send_password.body.xml"


def die(msg):
    sys.stderr.write("run_helpers.py: %s\n" % msg)
    sys.exit(1)


# --- accounts -------------------------------------------------------------------------------------

def md5_hex(text):
    return hashlib.md5(text.encode()).hexdigest()


def user_email(i):
    return "bench-%04d@example.com" % i


def user_password(i):
    return "benchpass-%04d" % i


def domain_name(i):
    return "bench-%04d.example" % i


def profile_name(i):
    return "benchprofile%04d" % i


def profile_password(i):
    return "Benchpass%04dx" % i


def read_users(path):
    """[(index, usernum, email, md5)] from USERS_TSV."""
    users = []
    with open(path) as f:
        for line in f:
            i, usernum, email, md5 = line.rstrip("\n").split("\t")
            users.append((int(i), usernum, email, md5))
    return users


def file_text(usernum, tag):
    """Exactly FILE_SIZE bytes of ASCII with nothing XML or nginx would treat specially."""
    head = "%s %s for user %s\n" % (FILE_MARKER, tag, usernum)
    line = "the quick brown fox jumps over the lazy dog 0123456789\n"
    text = head + line * (FILE_SIZE // len(line) + 1)
    return text[: FILE_SIZE - 1] + "\n"


# --- request bodies -------------------------------------------------------------------------------

def xmlrpc_call(method, *params):
    values = "".join("<param><value>%s</value></param>" % p for p in params)
    return ('<?xml version="1.0"?><methodCall><methodName>xmlStorageSystem.%s</methodName>'
            "<params>%s</params></methodCall>" % (method, values))


def caps_body(usernum, md5):
    return xmlrpc_call("getServerCapabilities", usernum, md5)


def register_body(i):
    return xmlrpc_call("registerUser", user_email(i), "Bench User %04d" % i,
                       md5_hex(user_password(i)), "<int>5335</int>", "passlink-bench")


def save_body(usernum, md5, path, text):
    return xmlrpc_call("saveMultipleFiles", usernum, md5,
                       "<array><data><value>%s</value></data></array>" % path,
                       "<array><data><value>%s</value></data></array>" % text)


def soap_caps_body(email, md5):
    return ("<?xml version='1.0' encoding='UTF-8'?>\n"
            '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
            '<soap-env:Body><ns0:getServerCapabilities xmlns:ns0="urn:xmlStorageSystem">'
            "<email>%s</email><password>%s</password>"
            "</ns0:getServerCapabilities></soap-env:Body></soap-env:Envelope>" % (email, md5))


def send_password_body(i):
    """The Net::OpenSRS capture with domain_name and send_to replaced, as bench/xcp.sh does."""
    base = open(SEND_PASSWORD_TEMPLATE, "rb").read()
    old_domain = b'<item key="domain_name">example.info</item>'
    old_send_to = b'<item key="send_to">owner</item>'
    assert base.count(old_domain) == 1 and base.count(old_send_to) == 1
    body = base.replace(old_domain, b'<item key="domain_name">%s</item>' % domain_name(i).encode())
    send_to = b"owner" if i % 2 else b"admin"
    return body.replace(old_send_to, b'<item key="send_to">' + send_to + b"</item>")


def ops_envelope(action, obj, attrs):
    """The layout of tests/it/xcp.rs: declaration, DOCTYPE, header, one dt_assoc."""
    items = "".join('    <item key="%s">%s</item>\n' % kv for kv in attrs)
    return ("<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n"
            "<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n<OPS_envelope>\n<header>\n"
            "<version>0.9</version>\n</header>\n<body>\n<data_block>\n<dt_assoc>\n"
            '    <item key="protocol">XCP</item>\n'
            '<item key="action">%s</item>\n<item key="object">%s</item>\n'
            '<item key="attributes">\n<dt_assoc>\n%s</dt_assoc>\n</item>\n</dt_assoc>\n'
            "</data_block>\n</body>\n</OPS_envelope>\n" % (action, obj, items)).encode()


def set_cookie_body(i):
    return ops_envelope("SET", "COOKIE", [("reg_username", profile_name(i)),
                                          ("reg_password", profile_password(i)),
                                          ("domain", domain_name(i))])


def xcp_signature(body, key):
    inner = hashlib.md5(body + key.encode()).hexdigest().encode()
    return hashlib.md5(inner + key.encode()).hexdigest()


def xcp_headers(reseller, key, body):
    return {"Content-Type": "text/xml", "X-Username": reseller,
            "X-Signature": xcp_signature(body, key)}


# --- HTTP -----------------------------------------------------------------------------------------

class Client:
    """One keep-alive connection per thread."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.local = threading.local()

    def request(self, method, path, body=None, headers=None):
        failures = 0
        busy = 0
        while True:
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                data = resp.read()
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                failures += 1
                if failures == 2:
                    raise
                continue
            # passlink sheds argon2 load with a "busy" answer when every work area is taken and
            # enough callers already wait; seeding (many registrations at once) retries, as a
            # client would.
            if b"server is busy" in data and busy < 500:
                busy += 1
                time.sleep(0.02)
                continue
            return resp.status, resp.getheader("Content-Type", ""), data


def expect(what, status, data, *markers):
    text = data.decode("utf-8", "replace")
    if status != 200 or any(m not in text for m in markers):
        die("%s: HTTP %s, expected 200 with %s; reply:\n%s" % (what, status, markers, text[:2000]))
    return text


def parallel(fn, items):
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(fn, items))


# --- commands -------------------------------------------------------------------------------------

def seed_users(base, n, out):
    client = Client(base)

    def register(i):
        status, _, data = client.request("POST", "/RPC2", register_body(i), {"Content-Type": "text/xml"})
        text = expect("registerUser %s" % user_email(i), status, data, XMLRPC_OK)
        m = re.search(r"<name>usernum</name><value><string>(\d+)</string>", text)
        if not m:
            die("registerUser %s: no usernum in\n%s" % (user_email(i), text))
        return i, m.group(1), user_email(i), md5_hex(user_password(i))

    start = time.monotonic()
    rows = parallel(register, range(1, n + 1))
    with open(out, "w") as f:
        for row in rows:
            f.write("%d\t%s\t%s\t%s\n" % row)
    print("%.1f" % (time.monotonic() - start))


def store_files(base, users_tsv, path, tag):
    client = Client(base)

    def store(user):
        _, usernum, _, md5 = user
        body = save_body(usernum, md5, path, file_text(usernum, tag))
        status, _, data = client.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        expect("saveMultipleFiles %s for %s" % (path, usernum), status, data, XMLRPC_OK)

    start = time.monotonic()
    parallel(store, read_users(users_tsv))
    print("%.1f" % (time.monotonic() - start))


def warm(base, users_tsv, first=None, last=None):
    """getServerCapabilities once per user: checks every credential and fills passlink's
    verified-credential cache (an argon2 verification per user the first time, a cache hit
    while the entry lives)."""
    client = Client(base)
    users = [u for u in read_users(users_tsv)
             if first is None or int(first) <= u[0] <= int(last)]

    def call(user):
        status, _, data = client.request("POST", "/RPC2", caps_body(user[1], user[3]),
                                         {"Content-Type": "text/xml"})
        expect("getServerCapabilities %s" % user[1], status, data, XMLRPC_OK)

    start = time.monotonic()
    parallel(call, users)
    print("%.1f" % (time.monotonic() - start))


def spool_tokens(path):
    raw = open(path, "rb").read()
    # Quoted-printable: soft line breaks ("=" at the end of a line) joined, =XX decoded.
    text = quopri.decodestring(raw.replace(b"\r\n", b"\n")).decode("utf-8", "replace")
    return list(dict.fromkeys(re.findall(r"/reset/([A-Za-z0-9_-]{20,})", text)))


def wait_outbox(db, timeout):
    """Waits until the outbox has no pending or sending message; prints the seconds waited."""
    start = time.monotonic()
    uri = "file:%s?mode=ro" % urllib.parse.quote(db)
    while True:
        conn = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            (left,) = conn.execute(
                "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()
            (failed,) = conn.execute(
                "SELECT count(*) FROM outbox WHERE state = 'failed'").fetchone()
        finally:
            conn.close()
        if left == 0:
            break
        if time.monotonic() - start > float(timeout):
            die("the outbox still has %d unsent message(s) after %s s" % (left, timeout))
        time.sleep(0.2)
    if failed:
        die("the outbox has %d failed message(s)" % failed)
    print("%.1f" % (time.monotonic() - start))


def capture(base, users_tsv, reseller, key, spool, db, outdir):
    """passlink's own successful replies, one per workload, for nginx to answer with."""
    client = Client(base)
    _, usernum, email, md5 = read_users(users_tsv)[0]
    xml = {"Content-Type": "text/xml"}

    def keep(name, what, method, path, body, headers, *markers):
        status, ctype, data = client.request(method, path, body, headers)
        expect(what, status, data, *markers)
        with open(os.path.join(outdir, name + ".body"), "wb") as f:
            f.write(data)
        with open(os.path.join(outdir, name + ".ctype"), "w") as f:
            f.write(ctype)

    keep("xmlrpc-caps", "getServerCapabilities", "POST", "/RPC2", caps_body(usernum, md5), xml,
         XMLRPC_OK)
    keep("soap-caps", "SOAP getServerCapabilities", "POST", "/xmlStorageSystem",
         soap_caps_body(email, md5), {"Content-Type": "text/xml; charset=utf-8",
                                      "SOAPAction": SOAP_ACTION}, SOAP_OK)
    keep("xmlrpc-save", "saveMultipleFiles", "POST", "/RPC2",
         save_body(usernum, md5, "bench/load.txt", file_text(usernum, "upload")), xml, XMLRPC_OK)
    keep("file-get", "GET file", "GET", "/users/%s/bench/file.txt" % usernum, None, {},
         FILE_MARKER)
    body = send_password_body(1)
    keep("xcp-send-password", "send_password", "POST", "/", body,
         xcp_headers(reseller, key, body), XCP_SUCCESS, XCP_CODE)
    body = set_cookie_body(1)
    keep("xcp-set-cookie", "set cookie", "POST", "/", body, xcp_headers(reseller, key, body),
         XCP_SUCCESS, XCP_CODE, XCP_COOKIE)
    # The send_password above mailed a link: the page behind it.
    wait_outbox(db, 60)
    tokens = []
    for path in sorted(glob.glob(os.path.join(spool, "*.eml"))):
        tokens += spool_tokens(path)
    if not tokens:
        die("no reset link in %s" % spool)
    keep("reset-get", "GET /reset/TOKEN", "GET", "/reset/" + tokens[-1], None, {}, RESET_FORM)


def lua_string(b):
    """A Lua quoted string whose value is exactly the bytes b."""
    if isinstance(b, str):
        b = b.encode()
    out = []
    for c in b:
        if c in (0x22, 0x5C) or c < 0x20 or c > 0x7E:
            out.append("\\%03d" % c)
        else:
            out.append(chr(c))
    return '"' + "".join(out) + '"'


def write_requests(path, comment, reqs):
    """reqs: [(method, path, headers dict, body or None)] as a Lua table for the driver."""
    with open(path, "w") as f:
        f.write("-- %s\nreturn {\n" % comment)
        for method, target, headers, body in reqs:
            hdrs = ", ".join("[%s] = %s" % (lua_string(k), lua_string(v)) for k, v in headers.items())
            f.write("{%s, %s, {%s}, %s},\n" % (lua_string(method), lua_string(target), hdrs,
                                               "nil" if body is None else lua_string(body)))
        f.write("}\n")


def gen_requests(users_tsv, reseller, key, domains, outdir):
    users = read_users(users_tsv)
    xml = {"Content-Type": "text/xml"}
    load = [u for u in users]
    write_requests(os.path.join(outdir, "xmlrpc-caps.requests.lua"),
                   "getServerCapabilities for each of the %d users" % len(load),
                   [("POST", "/RPC2", xml, caps_body(u[1], u[3])) for u in load])
    write_requests(os.path.join(outdir, "soap-caps.requests.lua"),
                   "SOAP getServerCapabilities (by email) for each of the %d users" % len(load),
                   [("POST", "/xmlStorageSystem",
                     {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": SOAP_ACTION},
                     soap_caps_body(u[2], u[3])) for u in load])
    write_requests(os.path.join(outdir, "xmlrpc-save.requests.lua"),
                   "saveMultipleFiles of bench/load.txt (4096 bytes, overwritten) for each user",
                   [("POST", "/RPC2", xml,
                     save_body(u[1], u[3], "bench/load.txt", file_text(u[1], "upload")))
                    for u in load])
    write_requests(os.path.join(outdir, "file-get.requests.lua"),
                   "GET of each user's bench/file.txt (4096 bytes)",
                   [("GET", "/users/%s/bench/file.txt" % u[1], {}, None) for u in load])
    reqs = []
    for i in range(1, int(domains) + 1):
        body = send_password_body(i)
        reqs.append(("POST", "/", xcp_headers(reseller, key, body), body))
    write_requests(os.path.join(outdir, "xcp-send-password.requests.lua"),
                   "signed send_password for each domain, send_to owner (odd) or admin (even)",
                   reqs)
    reqs = []
    for i in range(1, int(domains) + 1):
        body = set_cookie_body(i)
        reqs.append(("POST", "/", xcp_headers(reseller, key, body), body))
    write_requests(os.path.join(outdir, "xcp-set-cookie.requests.lua"),
                   "signed set cookie with each domain's profile login", reqs)
    # The flood: every user but the last with a wrong password; the probe: the last user.
    write_requests(os.path.join(outdir, "flood.requests.lua"),
                   "getServerCapabilities with a wrong password for users 1 to %d" % (len(users) - 1),
                   [("POST", "/RPC2", xml, caps_body(u[1], md5_hex("wrong-password-%d" % u[0])))
                    for u in users[:-1]])
    u = users[-1]
    write_requests(os.path.join(outdir, "probe.requests.lua"),
                   "getServerCapabilities with the right password for user %s" % u[1],
                   [("POST", "/RPC2", xml, caps_body(u[1], u[3]))])


def issue_resets(base, reseller, key, first, last):
    client = Client(base)

    def send(i):
        body = send_password_body(i)
        status, _, data = client.request("POST", "/", body, xcp_headers(reseller, key, body))
        expect("send_password %s" % domain_name(i), status, data, XCP_SUCCESS, XCP_CODE)

    parallel(send, range(int(first), int(last) + 1))


def collect_tokens(base, spool, newest, out):
    """The links in the NEWEST newest spool files that still show the form (a GET does not use
    a link up), as GET requests for the driver; prints how many of how many."""
    files = sorted(glob.glob(os.path.join(spool, "*.eml")))[-int(newest):]
    tokens = list(dict.fromkeys(t for path in files for t in spool_tokens(path)))
    client = Client(base)

    def valid(token):
        status, _, data = client.request("GET", "/reset/" + token)
        return status == 200 and RESET_FORM in data.decode("utf-8", "replace")

    ok = [t for t, good in zip(tokens, parallel(valid, tokens)) if good]
    if not ok:
        die("none of the %d links in the newest %s spool files shows the form" % (len(tokens), newest))
    write_requests(out, "GET /reset/TOKEN for %d live links read from the spool" % len(ok),
                   [("GET", "/reset/" + t, {}, None) for t in ok])
    print("%d %d" % (len(ok), len(tokens)))


DRIVER = r"""-- wrk driver: cycles through the requests of %(requests)s (each thread from its own
-- offset) and counts the replies that are not a 200 containing every marker. Each wrk thread
-- has its own Lua state, so done() (main state) sums the threads' counters.
local list = dofile(%(requests_q)s)
local markers = {%(markers)s}
local note = %(note)s
local nthreads = %(threads)d

checked = 0
bad = 0
noted = 0
first_bad = ""
local reqs = {}
local i = 0
local threads = {}

function setup(thread)
    thread:set("offset", math.floor(#threads * #list / nthreads))
    table.insert(threads, thread)
end

function init(args)
    for n, r in ipairs(list) do
        reqs[n] = wrk.format(r[1], r[2], r[3], r[4])
    end
    i = offset or 0
end

function request()
    i = i %% #reqs + 1
    return reqs[i]
end

function response(status, headers, body)
    checked = checked + 1
    body = body or ""
    local ok = status == 200
    for _, m in ipairs(markers) do
        if ok and not string.find(body, m, 1, true) then
            ok = false
        end
    end
    -- A noted reply (the server shedding load, "busy") is counted apart and never as bad:
    -- it is a correct answer, just not a success.
    if note ~= "" and string.find(body, note, 1, true) then
        noted = noted + 1
    elseif not ok then
        bad = bad + 1
        if first_bad == "" then
            first_bad = "HTTP " .. status .. ": " .. string.gsub(string.sub(body, 1, 600), "%%s+", " ")
        end
    end
end

function done(summary, latency, requests)
    local c, b, n, first = 0, 0, 0, ""
    for _, t in ipairs(threads) do
        c = c + t:get("checked")
        b = b + t:get("bad")
        n = n + t:get("noted")
        if first == "" then
            first = t:get("first_bad")
        end
    end
    io.write(string.format("replies checked: %%d\n", c))
    io.write(string.format("bad replies: %%d\n", b))
    io.write(string.format("noted replies: %%d\n", n))
    io.write(string.format("first bad reply: %%s\n", first))
end
"""


def driver(requests, threads, note, *markers):
    sys.stdout.write(DRIVER % {
        "requests": os.path.basename(requests),
        "requests_q": lua_string(requests),
        "markers": ", ".join(lua_string(m) for m in markers),
        "note": lua_string(note),
        "threads": int(threads),
    })


# --- report ---------------------------------------------------------------------------------------

def read_tsv(path, fields):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                rows.append(dict(zip(fields, line.rstrip("\n").split("\t"))))
    return rows


def median(values):
    v = sorted(values)
    n = len(v)
    if n == 0:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def ms(us):
    return "n/a" if us is None else "%.2f ms" % (us / 1000)


def mib(kb):
    return "n/a" if kb in (None, "") else "%.1f MiB" % (int(kb) / 1024)


def report(work, out_md, out_json):
    meta = {}
    with open(os.path.join(work, "meta.tsv")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    workloads = read_tsv(os.path.join(work, "workloads.tsv"),
                         ["id", "name", "title", "request", "marker", "nginx_reply", "command"])
    runs = read_tsv(os.path.join(work, "runs.tsv"),
                    ["workload", "server", "run", "rps", "p50_us", "p99_us", "max_us", "checked",
                     "bad", "noted", "errors", "first_bad"])
    rss = {r["workload"]: r for r in read_tsv(os.path.join(work, "rss.tsv"),
                                              ["workload", "peak_kb", "after_kb"])}
    flood = {r["role"]: r for r in read_tsv(os.path.join(work, "flood.tsv"),
                                            ["role", "rps", "p50_us", "p99_us", "max_us",
                                             "checked", "bad", "noted", "errors", "first_bad"])}

    def num(x):
        return float(x) if x not in ("", None) else None

    results = []
    for w in workloads:
        entry = dict(w)
        for server in ("passlink", "nginx"):
            rs = [r for r in runs if r["workload"] == w["name"] and r["server"] == server]
            entry[server] = {
                "runs": [{k: (num(r[k]) if k in ("rps", "p50_us", "p99_us", "max_us") else
                              int(r[k]) if k in ("checked", "bad", "noted", "run") else r[k])
                          for k in r if k not in ("workload", "server")} for r in rs],
                "rps_median": median([float(r["rps"]) for r in rs]),
                "p50_us_median": median([float(r["p50_us"]) for r in rs]),
                "p99_us_median": median([float(r["p99_us"]) for r in rs]),
                "checked": sum(int(r["checked"]) for r in rs),
                "bad": sum(int(r["bad"]) for r in rs),
                "busy": sum(int(r["noted"]) for r in rs),
                # Successful replies per second: all replies less bad and busy ones.
                "good_rps_median": median([float(r["rps"]) * (int(r["checked"]) - int(r["bad"]) - int(r["noted"]))
                                           / int(r["checked"]) if int(r["checked"]) else 0.0 for r in rs]),
                "socket_errors_or_non_2xx": [r["errors"] for r in rs if r["errors"]],
                "first_bad_reply": next((r["first_bad"] for r in rs if r["first_bad"]), ""),
            }
        p, n = entry["passlink"]["rps_median"], entry["nginx"]["rps_median"]
        entry["ratio_to_nginx"] = (p / n) if p is not None and n else None
        entry["passlink_peak_rss_kb"] = int(rss[w["name"]]["peak_kb"]) if w["name"] in rss and rss[w["name"]]["peak_kb"] else None
        entry["passlink_rss_after_kb"] = int(rss[w["name"]]["after_kb"]) if w["name"] in rss and rss[w["name"]]["after_kb"] else None
        results.append(entry)
    by_name = {w["name"]: w for w in results}

    def flood_entry(role):
        r = flood.get(role)
        if not r:
            return None
        return {"rps": num(r["rps"]), "p50_us": num(r["p50_us"]), "p99_us": num(r["p99_us"]),
                "max_us": num(r["max_us"]), "checked": int(r["checked"]), "bad": int(r["bad"]),
                "busy": int(r["noted"]), "errors": r["errors"], "first_bad_reply": r["first_bad"]}

    flood_out = {"flood": flood_entry("flood"), "probe": flood_entry("probe"),
                 "flood_command": meta.get("flood_command", ""),
                 "probe_command": meta.get("probe_command", "")}

    def clean(name):
        e = by_name.get(name)
        return e is not None and e["passlink"]["bad"] == 0 and not e["passlink"]["socket_errors_or_non_2xx"]

    peaks = [int(rss[k]["peak_kb"]) for k in rss if rss[k]["peak_kb"]]
    peak_under_load = max(peaks) if peaks else None
    targets = []

    def caps_target(name, label):
        e = by_name.get(name)
        if not e:
            return
        ratio, p99 = e["ratio_to_nginx"], e["passlink"]["p99_us_median"]
        met = ratio is not None and ratio >= 0.30 and p99 < 5000 and clean(name)
        targets.append({"target": "%s: >= 30%% of nginx's req/s with p99 < 5 ms, no bad replies" % label,
                        "measured": "%.0f%% of nginx, p99 %s, bad replies %d" % (
                            100 * ratio, ms(p99), e["passlink"]["bad"]),
                        "met": met})

    caps_target("xmlrpc-caps", "getServerCapabilities (XML-RPC)")
    caps_target("soap-caps", "getServerCapabilities (SOAP)")
    e = by_name.get("xcp-send-password")
    if e:
        rps, p99 = e["passlink"]["rps_median"], e["passlink"]["p99_us_median"]
        targets.append({"target": "send_password: >= 2,000 req/s with p99 < 20 ms, no bad replies",
                        "measured": "%.0f req/s, p99 %s, bad replies %d" % (rps, ms(p99), e["passlink"]["bad"]),
                        "met": rps >= 2000 and p99 < 20000 and clean("xcp-send-password")})
    if peak_under_load is not None:
        targets.append({"target": "RSS <= 30 MiB under load (peak VmHWM over every workload and the flood)",
                        "measured": mib(peak_under_load), "met": peak_under_load <= 30 * 1024})
    probe = flood_out["probe"]
    if probe:
        if probe["checked"] == 0:
            measured = "no reply at all within the %s run" % meta.get("duration", "")
        else:
            measured = "p99 %s (max %s), %d replies, bad replies %d" % (
                ms(probe["p99_us"]), ms(probe["max_us"]), probe["checked"], probe["bad"])
        targets.append({"target": "flood check: p99 < 50 ms for a client with known credentials",
                        "measured": measured,
                        "met": probe["checked"] > 0 and probe["p99_us"] < 50000 and probe["bad"] == 0
                        and probe["busy"] == 0})

    meta_out = dict(meta)
    meta_out["problems"] = [p for p in meta.get("problems", "").split("\x1f") if p]
    if meta.get("driver_example"):
        meta_out["driver_example"] = open(meta["driver_example"]).read()
    data = {"meta": meta_out, "workloads": results, "flood_check": flood_out, "targets": targets,
            "passlink_rss_kb": {"after_seeding": num(meta.get("rss_seeded_kb")),
                                "peak_seeding": num(meta.get("peak_seeding_kb")),
                                "peak_under_load": peak_under_load,
                                "after_workloads": num(meta.get("rss_after_workloads_kb")),
                                "after_flood": num(meta.get("rss_after_flood_kb")),
                                "vmhwm_reset_per_workload": meta.get("vmhwm_reset") == "yes"}}
    with open(out_json, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")

    L = []
    L.append("# passlink benchmark (bench/run.sh)")
    L.append("")
    L.append("%s; %s; passlink commit %s (uncommitted changes in src/, schema.sql or Cargo.* at build time: %s%s)." % (
        meta.get("date", ""), meta.get("machine", ""), meta.get("commit", ""), meta.get("src_dirty", ""),
        (": " + meta["src_changes"]) if meta.get("src_changes") else ""))
    L.append("")
    L.append("| workload | passlink req/s | p50 | p99 | nginx req/s | ratio to nginx | bad replies (passlink / nginx) | passlink \"busy\" (shed) | passlink successes/s |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for e in results:
        p, n = e["passlink"], e["nginx"]
        L.append("| %s. %s | %.0f | %s | %s | %.0f | %s | %d of %d / %d of %d | %d | %.0f |" % (
            e["id"], e["title"], p["rps_median"], ms(p["p50_us_median"]), ms(p["p99_us_median"]),
            n["rps_median"], "%.2f" % e["ratio_to_nginx"] if e["ratio_to_nginx"] is not None else "n/a",
            p["bad"], p["checked"], n["bad"], n["checked"], p["busy"], p["good_rps_median"]))
    L.append("")
    L.append("Medians of %s runs of %s per server and workload, runs alternating passlink, nginx, "
             "passlink, ...; wrk, passlink and nginx share the machine. nginx answers each "
             "workload with passlink's own reply to one request of it, captured before the load "
             "(same size, no work). Bad replies: not a 200 with the workload's success marker. \"busy\": "
             "passlink declined at once because every argon2 slot and its one waiting place "
             "were taken (load shedding, by design; not bad); successes/s leaves those out." % (
                 meta.get("runs", ""), meta.get("duration", "")))
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | met |")
    L.append("| --- | --- | --- |")
    for t in targets:
        L.append("| %s | %s | %s |" % (t["target"], t["measured"], "**met**" if t["met"] else "**not met**"))
    L.append("")
    L.append("## Memory (passlink VmRSS / VmHWM from /proc)")
    L.append("")
    L.append("- after seeding: RSS %s; peak during start and seeding (%s registerUser, argon2id each): %s" % (
        mib(meta.get("rss_seeded_kb")), meta.get("users", ""), mib(meta.get("peak_seeding_kb"))))
    if meta.get("vmhwm_reset") == "yes":
        L.append("- peak per workload (VmHWM reset with /proc/PID/clear_refs before each): " + "; ".join(
            "%s %s" % (e["name"], mib(e["passlink_peak_rss_kb"])) for e in results) +
            "; flood %s" % mib(rss.get("flood", {}).get("peak_kb")))
    else:
        L.append("- VmHWM could not be reset per workload; the peak is the process's overall VmHWM")
    L.append("- peak under load (largest of those): %s" % mib(peak_under_load))
    L.append("- RSS after the seven workloads: %s; after the flood check: %s (of which anonymous %s, file-backed %s)" % (
        mib(meta.get("rss_after_workloads_kb")), mib(meta.get("rss_after_flood_kb")),
        mib(meta.get("rss_anon_end_kb")), mib(meta.get("rss_file_end_kb"))))
    L.append("- passlink threads at the end: %s" % meta.get("threads_end", "n/a"))
    L.append("")
    L.append("## Flood check")
    L.append("")
    fl = flood_out["flood"]
    if fl and probe:
        users = int(meta.get("users", "1000"))
        L.append("%s connections send getServerCapabilities with a wrong password (users 1 to %d, "
                 "each request an uncached argon2id verification) for %s; 1 s in, a second wrk "
                 "measures a client with known credentials (user %d, cache warmed) for %s." % (
                     meta.get("flood_connections", ""), users - 1, meta.get("flood_duration", ""),
                     users, meta.get("duration", "")))
        L.append("")
        L.append("| client | req/s | p50 | p99 | max | replies | bad | \"busy\" replies | socket errors |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for role, label in (("probe", "known credentials (measured)"), ("flood", "wrong passwords (flood)")):
            r = flood_out[role]
            L.append("| %s | %.0f | %s | %s | %s | %d | %d | %d | %s |" % (
                label, r["rps"], ms(r["p50_us"]), ms(r["p99_us"]), ms(r["max_us"]), r["checked"],
                r["bad"], r["busy"], r["errors"] or "none"))
        L.append("")
        L.append("For the flood, a good reply is a 200 with flError true (wrong password); for the "
                 "measured client, a 200 with flError false. \"busy\": replies saying the server is busy "
                 "(no argon2 slot within the wait). wrk counts only replies that arrive before its run "
                 "ends: requests still waiting then are in neither the counts nor the latencies.")
        for role in ("probe", "flood"):
            if flood_out[role]["first_bad_reply"]:
                L.append("")
                L.append("First bad reply (%s): `%s`" % (role, flood_out[role]["first_bad_reply"][:600]))
    L.append("")
    problems = []
    for e in results:
        for server in ("passlink", "nginx"):
            s = e[server]
            for err in s["socket_errors_or_non_2xx"]:
                problems.append("%s, %s: %s" % (e["name"], server, err))
            if s["first_bad_reply"]:
                problems.append("%s, %s: %d bad replies; the first: `%s`" % (
                    e["name"], server, s["bad"], s["first_bad_reply"][:600]))
    for p in meta.get("problems", "").split("\x1f"):
        if p:
            problems.append(p)
    if problems:
        L.append("## Problems seen")
        L.append("")
        for p in problems:
            L.append("- " + p)
        L.append("")
    L.append("## Workloads")
    L.append("")
    for e in results:
        L.append("%s. **%s** (`%s`): %s Success marker: %s. nginx: %s." % (
            e["id"], e["title"], e["name"], e["request"], e["marker"], e["nginx_reply"]))
    L.append("")
    L.append("## Setup")
    L.append("")
    for k, label in (("seed", "seed"), ("config", "passlink config"), ("passlink_version", "passlink"),
                     ("nginx_version", "nginx"), ("wrk_version", "wrk"), ("load_before", "load average before the run"),
                     ("load_after", "load average after the run"), ("extra", "notes")):
        if meta.get(k):
            L.append("- %s: %s" % (label, meta[k]))
    L.append("")
    L.append("Commands (PORT_P: passlink; PORT_N: nginx's port for the workload; the driver "
             "scripts are generated by bench/run_helpers.py, each with a table of prebuilt "
             "requests):")
    L.append("")
    L.append("```sh")
    for e in results:
        L.append("# %s. %s, %s times each, passlink then nginx" % (e["id"], e["name"], meta.get("runs", "")))
        L.append(e["command"])
    L.append("# flood check, at the same time:")
    L.append(flood_out["flood_command"])
    L.append(flood_out["probe_command"] + "   # started 1 s after the flood")
    L.append("```")
    L.append("")
    if meta.get("driver_example"):
        L.append("The driver (for workload 1; the others differ in the requests file, the markers "
                 "and the thread count):")
        L.append("")
        L.append("```lua")
        L.append(open(meta["driver_example"]).read().rstrip("\n"))
        L.append("```")
        L.append("")
    with open(out_md, "w") as f:
        f.write("\n".join(L))


def main():
    if len(sys.argv) < 2:
        die("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    commands = {
        "seed-users": lambda: seed_users(args[0], int(args[1]), args[2]),
        "store-files": lambda: store_files(*args),
        "warm": lambda: warm(*args),
        "capture": lambda: capture(*args),
        "gen-requests": lambda: gen_requests(*args),
        "issue-resets": lambda: issue_resets(*args),
        "wait-outbox": lambda: wait_outbox(*args),
        "collect-tokens": lambda: collect_tokens(*args),
        "driver": lambda: driver(*args),
        "report": lambda: report(*args),
    }
    if cmd not in commands:
        die("unknown command %s" % cmd)
    commands[cmd]()


if __name__ == "__main__":
    main()
