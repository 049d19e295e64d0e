"""Drives passlink's reset page in real headless Chromium (Debian's chromium and
chromium-driver), over W3C WebDriver with only the standard library.

    python3 reset_page_chromium.py URL OUTDIR --password NEW --mismatch OTHER

Opens URL (a reset link), screenshots the form, submits two different passwords and
screenshots the error, then submits NEW twice and screenshots the success page. Prints one JSON
object with what it saw; exits non-zero with the reason on stderr if a step fails.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
STEP_TIMEOUT = 15


class Driver:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.load(resp).get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: %s" % (method, path, e.read().decode(errors="replace")))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.session, path), body)

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def exists(self, css):
        return bool(self.s("POST", "/elements", {"using": "css selector", "value": css}))

    def text(self, css):
        return self.s("GET", "/element/%s/text" % self.find(css))

    def attribute(self, css, name):
        return self.s("GET", "/element/%s/attribute/%s" % (self.find(css), name))

    def type_into(self, css, text):
        element = self.find(css)
        self.s("POST", "/element/%s/clear" % element, {})
        self.s("POST", "/element/%s/value" % element, {"text": text})

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))
        return path

    def wait_for(self, css, what):
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            ready = self.s("POST", "/execute/sync",
                           {"script": "return document.readyState", "args": []})
            if ready == "complete" and self.exists(css):
                return
            time.sleep(0.1)
        raise RuntimeError("timed out waiting for %s (%s)" % (what, css))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("outdir")
    parser.add_argument("--password", required=True)
    parser.add_argument("--mismatch", required=True)
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    port = free_port()
    profile = tempfile.mkdtemp(prefix="passlink-chromium-")
    chromedriver = subprocess.Popen(["chromedriver", "--port=%d" % port],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = Driver(port)
    result = {"screenshots": []}
    try:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            try:
                if driver.call("GET", "/status").get("ready"):
                    break
            except (OSError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        # --disable-dev-shm-usage: containers often have a tiny /dev/shm.
        # The rest keep Chromium off the network: the test talks to loopback only.
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": shutil.which("chromium") or "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                         "--window-size=900,900", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-default-apps",
                         "--disable-domain-reliability"],
            }}}}
        driver.session = driver.call("POST", "/session", caps)["sessionId"]

        driver.s("POST", "/url", {"url": args.url})
        driver.wait_for("#password", "the form")
        result["title"] = driver.s("POST", "/execute/sync",
                                   {"script": "return document.title", "args": []})
        result["h1"] = driver.text("h1")
        shot = driver.screenshot(os.path.join(args.outdir, "1-form.png"))
        result["screenshots"].append(shot)

        driver.type_into("#password", args.password)
        driver.type_into("#password2", args.mismatch)
        driver.click("#submit")
        driver.wait_for("#password2-error", "the mismatch error")
        result["mismatch_error"] = driver.text("#password2-error")
        described = driver.attribute("#password2", "aria-describedby") or ""
        result["describedby_ok"] = "password2-error" in described.split()
        result["aria_invalid"] = driver.attribute("#password2", "aria-invalid")
        shot = driver.screenshot(os.path.join(args.outdir, "2-mismatch.png"))
        result["screenshots"].append(shot)

        driver.type_into("#password", args.password)
        driver.type_into("#password2", args.password)
        driver.click("#submit")
        driver.wait_for("#done", "the success page")
        result["done"] = driver.text("#done")
        result["body"] = driver.text("body")
        shot = driver.screenshot(os.path.join(args.outdir, "3-done.png"))
        result["screenshots"].append(shot)
    except Exception as e:  # report any failure as one clear line
        print("reset_page_chromium: %s" % e, file=sys.stderr)
        print(json.dumps(result, indent=1), file=sys.stderr)
        return 1
    finally:
        if driver.session:
            try:
                driver.call("DELETE", "/session/%s" % driver.session)
            except (OSError, RuntimeError):
                pass
        chromedriver.terminate()
        try:
            chromedriver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chromedriver.kill()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
