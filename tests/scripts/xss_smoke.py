"""PyCS's test_server.py smoke client, ported to Python 3's xmlrpc.client and run against a
live passlink. Usage: xss_smoke.py BASE_URL   (e.g. http://127.0.0.1:5445)
Prints one line per step and exits non-zero at the first failed check."""
import hashlib
import sys
import urllib.error
import urllib.request
import xmlrpc.client as x

base = sys.argv[1].rstrip("/")
s = x.ServerProxy(base + "/RPC2")
pw = hashlib.md5(b"asdf").hexdigest()


def check(cond, what, got=None):
    if not cond:
        print("FAIL:", what, repr(got))
        sys.exit(1)
    print("ok:", what)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers, r.read()


# register, five params like Radio
r = s.xmlStorageSystem.registerUser("pycs_test3@myelin.co.nz", "Test user", pw, 80,
                                    "Python Community Server Test (test_server.py)")
check(r["flError"] is False, "registerUser succeeds", r)
u = r["usernum"]
check(isinstance(u, str) and len(u) == 7 and u.isdigit(), "usernum is a 7-digit string", u)
again = s.xmlStorageSystem.registerUser("pycs_test3@myelin.co.nz", "Test user", pw, 80, "x", "")
check(again["usernum"] == u and again["flError"] is False
      and again["message"].startswith("Welcome back"), "registering again is a log-in", again)
taken = s.xmlStorageSystem.registerUser("pycs_test3@myelin.co.nz", "Other", "different", 80, "x")
check(taken["flError"] is True, "another password for that email is refused", taken)

caps = s.xmlStorageSystem.getServerCapabilities(u, pw)
check(caps["flError"] is False, "getServerCapabilities", caps)
for member, kind in [("maxFileSize", int), ("maxBytesPerUser", int), ("ctBytesInUse", int),
                     ("legalFileExtensions", list), ("community", dict),
                     ("weblogUpdates", dict), ("yourUpstreamFolderUrl", str),
                     ("minutesBetweenPings", int)]:
    check(isinstance(caps.get(member), kind), "capabilities %s is %s" % (member, kind.__name__),
          caps.get(member))
check(isinstance(caps["community"].get("name"), str), "community.name (Radio needs it)")
folder = caps["yourUpstreamFolderUrl"]
check(folder == "%s/users/%s/" % (base, u), "upstream folder URL", folder)
# The usernum works as an int and unpadded, and the email works too.
for login in (int(u), str(int(u)), "pycs_test3@myelin.co.nz"):
    check(s.xmlStorageSystem.getServerCapabilities(login, pw)["flError"] is False,
          "login as %r" % (login,))

saved = s.xmlStorageSystem.saveMultipleFiles(
    u, pw, ["test.html", "/blah/this_is_ok.html", "blah/pic.gif", "this_should_fail.php"],
    ["<html>This is a test</html>",
     x.Binary(b"<html>written as base64</html>\n"),
     x.Binary(bytes(range(256))),
     "<?php echo 1; ?>"])
check(saved["flError"] is True, "a refused file sets flError", saved)
urls = saved["urlList"]
check(len(urls) == 4 and urls[3] == "", "the refused file gets an empty URL", urls)
check(urls[0] == folder + "test.html" and urls[1] == folder + "blah/this_is_ok.html",
      "URLs of saved files", urls)
check("php" in saved["message"], "the message says why", saved["message"])

status, headers, body = get(urls[0])
check(status == 200 and body == b"<html>This is a test</html>", "GET a string file", body)
check(headers["Content-Type"].startswith("text/html"), "Content-Type from the extension")
check(headers["X-Content-Type-Options"] == "nosniff", "nosniff")
check(headers["Content-Security-Policy"] == "sandbox", "CSP sandbox")
status, headers, body = get(urls[1])
check(body == b"<html>written as base64</html>\n", "GET a base64 file", body)
status, headers, body = get(urls[2])
check(body == bytes(range(256)), "binary content is byte-exact")

over = s.xmlStorageSystem.saveMultipleFiles(u, pw, ["test.html"], ["<html>overwritten</html>"])
check(over["flError"] is False, "overwrite", over)
check(get(urls[0])[2] == b"<html>overwritten</html>", "GET after overwrite")

d = s.xmlStorageSystem.getMyDirectory(u, pw)
check(d["flError"] is False, "getMyDirectory", d)
entries = d["directory"]
check(sorted(entries) == ["file00001", "file00002", "file00003"], "directory keys", entries)
paths = sorted(e["relativePath"] for e in entries.values())
check(paths == ["blah/pic.gif", "blah/this_is_ok.html", "test.html"], "directory paths", paths)
first = entries["file00001"]
check(isinstance(first["size"], int) and isinstance(first["whenCreated"], x.DateTime),
      "directory entry types", first)

info = {"email": "pycs_test3@myelin.co.nz", "weblogTitle": "Test weblog", "serialNumber": "",
        "organization": "", "flBehindFirewall": True, "name": "Test user"}
p = s.xmlStorageSystem.ping(u, pw, 0, 5335, info)
check(p["flError"] is False and isinstance(p.get("cloudData"), dict), "ping status 0", p)
cloud = p["cloudData"]
check(cloud["usernum"] == u and cloud["weblogTitle"] == "Test weblog"
      and isinstance(cloud["ctUpstreams"], int) and cloud["ctUpstreams"] >= 2, "cloudData", cloud)
p = s.xmlStorageSystem.ping(u, pw, 1, "5335", {})
check(p["flError"] is False and "cloudData" not in p, "ping status 1, port as string", p)

deleted = s.xmlStorageSystem.deleteMultipleFiles(u, pw, ["test.html", "no-such-file.html"])
check(deleted["flError"] is True, "a failed delete sets flError", deleted)
check(deleted["errorList"][0] == "" and deleted["errorList"][1] != "", "errorList", deleted)
try:
    get(urls[0])
    check(False, "a deleted file is gone")
except urllib.error.HTTPError as e:
    check(e.code == 404, "a deleted file is gone", e.code)

bad = s.xmlStorageSystem.getServerCapabilities(u, hashlib.md5(b"wrong").hexdigest())
check(bad["flError"] is True and "password is incorrect" in bad["message"],
      "a wrong password is a normal struct", bad)
nobody = s.xmlStorageSystem.getServerCapabilities("9999999", pw)
check(nobody == bad, "an unknown user gets the same answer")

try:
    s.xmlStorageSystem.noSuchMethod(u, pw)
    check(False, "unknown method faults")
except x.Fault as f:  # only raised for an HTTP 200 reply
    check(f.faultCode == 1 and "noSuchMethod" in f.faultString, "unknown method fault", f)

res = s.radioCommunityServer.getInitialResources()
check(all(v.startswith(base + "/initialResources/") for v in res.values()) and res,
      "getInitialResources", res)
for v in res.values():
    check(get(v)[0] == 200, "GET " + v)
wp = s.weblogUpdates.ping("Test weblog", "http://example.com/weblog/")
check(wp == {"flError": False, "message": "Thanks for the ping!"}, "weblogUpdates.ping", wp)
changes = get(base + "/weblogUpdates/changes.xml")[2]
check(b'url="http://example.com/weblog/"' in changes, "changes.xml lists the ping", changes)
# The same answer for a registered address and an unknown one (no account enumeration).
reset_answer = {"flError": False,
                "message": "If that address has an account, a password reset link has been mailed to it."}
for address in ["pycs_test3@myelin.co.nz", "nobody-here@example.net"]:
    m = s.xmlStorageSystem.mailPasswordToUser(address)
    check(m == reset_answer, "mailPasswordToUser " + address, m)
print("ALL OK")
