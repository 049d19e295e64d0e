"""Drives passlink's password-reset page in real headless Chromium.

Uses Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) over
W3C WebDriver, with only the standard library, so it runs under either python3.

    python3 chromium_reset.py URL OUTDIR --password NEW --mismatch OTHER

Steps:
  1. opens URL (a reset link) and saves OUTDIR/1-form.png;
  2. submits NEW and OTHER and saves OUTDIR/2-mismatch.png of the error it expects
     (#password2-error, tied to #password2 through aria-describedby); with --weak WEAK, then
     submits WEAK twice and saves OUTDIR/2b-weak.png of the strength error (#password-error,
     tied to #password);
  3. submits NEW twice and saves OUTDIR/3-done.png of the success page (#done).

With --lang TAG, Chromium's language (and so its Accept-Language) is TAG and the screenshots
are named TAG-1-form.png and so on; with --switch-to OTHER as well, step 1 also follows the
page's own link to OTHER (TAG-1b-switched.png) and back.

On success it prints one JSON object on stdout:

    {"title", "h1", "mismatch_error", "describedby", "describedby_ok", "aria_invalid",
     "password_aria_invalid", "done", "body", "screenshots"}

title and h1 are from the form page; describedby, aria_invalid are #password2's attributes
after the mismatch (aria_invalid is null when absent), password_aria_invalid is #password's;
done and body are the texts of #done and <body> on the success page.

On any failure (an element missing, a timeout, chromedriver not starting) it exits 1 with
the step and the reason on stderr, followed by what it had recorded so far and the tail of
the chromedriver log. chromedriver and Chromium are stopped and the temporary profile is
removed in every case, also on SIGTERM.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The W3C web element identifier (WebDriver spec, "Elements").
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

DRIVER_START_TIMEOUT = 20   # chromedriver answering /status with ready
STEP_TIMEOUT = 10           # a page (the form, or the one after submitting) appearing
# WebDriver's own limit on a navigation, which /url and a submitting click wait for.
PAGE_LOAD_MS = STEP_TIMEOUT * 1000
HTTP_TIMEOUT = 30           # any single WebDriver call, above PAGE_LOAD_MS
SESSION_TIMEOUT = 60        # POST /session starts Chromium, slow on a loaded CI box
POLL = 0.1

PROG = "chromium_reset.py"


class StepFailed(Exception):
    pass


class WebDriverError(Exception):
    def __init__(self, status, error, message):
        super().__init__("%s (HTTP %s): %s" % (error, status, message))
        self.error = error


class Driver:
    """The handful of WebDriver commands this script needs."""

    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.session = None

    def call(self, method, path, body=None, timeout=HTTP_TIMEOUT):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.load(resp).get("value")
        except urllib.error.HTTPError as e:
            # WebDriver errors come as JSON {"value": {"error", "message", ...}}.
            raw = e.read().decode("utf-8", "replace")
            try:
                value = json.loads(raw)["value"]
                error, message = value.get("error"), value.get("message", "")
            except (ValueError, KeyError, TypeError, AttributeError):
                error, message = "http error", raw
            # Chromium's messages end in a long native stack trace; the first line says it.
            raise WebDriverError(e.code, error, message.strip().splitlines()[0]
                                 if message.strip() else "") from None

    def s(self, method, path, body=None, timeout=HTTP_TIMEOUT):
        return self.call(method, "/session/%s%s" % (self.session, path), body, timeout)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        try:
            found = self.s("POST", "/element", {"using": "css selector", "value": css})
        except WebDriverError as e:
            if e.error == "no such element":
                raise StepFailed("no element %s on %s" % (css, self.where())) from None
            raise
        return found[ELEMENT]

    def exists(self, css):
        return bool(self.s("POST", "/elements", {"using": "css selector", "value": css}))

    def text(self, css):
        return self.s("GET", "/element/%s/text" % self.find(css))

    def attribute(self, css, name):
        return self.s("GET", "/element/%s/attribute/%s" % (self.find(css), name))

    def fill(self, css, text):
        element = self.find(css)
        self.s("POST", "/element/%s/clear" % element, {})
        self.s("POST", "/element/%s/value" % element, {"text": text})

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def screenshot(self, path):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise StepFailed("the screenshot for %s is not a PNG" % path)
        with open(path, "wb") as f:
            f.write(png)
        return path

    def where(self):
        """The current URL, title and the start of the page text, for error messages."""
        try:
            text = " ".join((self.js("return document.body ? document.body.innerText : '';")
                             or "").split())
            return "%s (title %r, text %r)" % (self.s("GET", "/url"), self.s("GET", "/title"),
                                               text[:200])
        except Exception:  # only ever decorates another error; must not replace it
            return "the current page"

    def load(self, url, css, what):
        """Opens url and waits for `css` on it."""
        deadline = time.monotonic() + STEP_TIMEOUT
        self.navigating(lambda: self.s("POST", "/url", {"url": url}), what)
        self.wait_for(css, what, deadline)

    def submit(self, css, what):
        """Clicks #submit and waits for the next page to show `css`."""
        # A property on window disappears when a new document loads, even if the form posts
        # back to the same URL, so it tells the next page from the one we submitted.
        self.js("window.__chromiumResetOld = true;")
        deadline = time.monotonic() + STEP_TIMEOUT
        self.navigating(lambda: self.click("#submit"), what)
        self.wait_for(css, what, deadline)

    def navigating(self, command, what):
        # /url and a click that submits both wait for the page load, up to PAGE_LOAD_MS.
        try:
            command()
        except WebDriverError as e:
            if e.error != "timeout":
                raise
            raise StepFailed("the page for %s did not load within %ds: %s"
                             % (what, STEP_TIMEOUT, e)) from None

    def wait_for(self, css, what, deadline):
        """Waits until a loaded page that is not the submitted one has `css`.

        A loaded new page without `css` fails at once, with what the page says instead
        (Chromium's error page, a 410 for a used link), rather than after the whole timeout.
        """
        state = None
        while True:
            try:
                state = self.js("return [document.readyState,"
                                " window.__chromiumResetOld === true];")
                if state[0] == "complete" and self.exists(css):
                    return
                if state == ["complete", False]:
                    raise StepFailed("no %s (%s) on %s" % (css, what, self.where()))
            except WebDriverError:
                # Mid-navigation the old document is gone and scripts fail; try again.
                pass
            if time.monotonic() > deadline:
                stuck = " (the submitted page is still showing)" if state == ["complete", True] \
                    else ""
                raise StepFailed("timed out after %ds waiting for %s (%s)%s on %s"
                                 % (STEP_TIMEOUT, what, css, stuck, self.where()))
            time.sleep(POLL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromeDriver:
    """A chromedriver process of our own, in its own process group with Chromium."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = None
        self.port = None

    def start(self):
        # Choosing a free port and handing it over can race with another process; if
        # chromedriver dies at start (port taken), try again on a new one.
        for _ in range(3):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                # Own session: Chromium runs as chromedriver's child, so one killpg at the
                # end removes any browser process that outlives a failed session.
                self.proc = subprocess.Popen(
                    [CHROMEDRIVER, "--port=%d" % self.port],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            driver = Driver(self.port)
            deadline = time.monotonic() + DRIVER_START_TIMEOUT
            while self.proc.poll() is None and time.monotonic() < deadline:
                try:
                    if (driver.call("GET", "/status", timeout=2) or {}).get("ready"):
                        return driver
                except (OSError, WebDriverError, ValueError):
                    pass
                time.sleep(POLL)
            if self.proc.poll() is None:
                raise StepFailed("chromedriver did not become ready within %ds"
                                 % DRIVER_START_TIMEOUT)
        raise StepFailed("chromedriver exited at start (status %s)" % self.proc.returncode)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is already empty
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass  # unkillable (stuck in the kernel); nothing more we can do

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            return []


def capabilities(profile, lang=None):
    # --lang sets the UI language; the Accept-Language Chromium sends comes from the profile's
    # intl.accept_languages (and --accept-lang), which --lang alone does not set on Linux.
    language = (["--lang=" + lang, "--accept-lang=" + lang] if lang else [])
    prefs = {"intl": {"accept_languages": lang}} if lang else {}
    return {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": {"implicit": 0, "pageLoad": PAGE_LOAD_MS, "script": STEP_TIMEOUT * 1000},
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                # Chromium's sandbox refuses to start as root (CI containers) without this.
                "--no-sandbox",
                "--disable-gpu",
                # Docker's default /dev/shm is 64 MB, too small for Chromium; use /tmp.
                "--disable-dev-shm-usage",
                # A fresh profile: no state from, or conflicts with, another browser run.
                "--user-data-dir=" + profile,
                "--window-size=900,900",
                # Keep Chromium off the network: the test talks to loopback only.
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-domain-reliability",
            ] + language,
            "prefs": prefs,
        },
    }}}


def run(driver, args, result, step):
    step[0] = "create session"
    session = driver.call(
        "POST", "/session", capabilities(args.profile, args.lang), SESSION_TIMEOUT)
    driver.session = session["sessionId"]
    shot = (lambda name: os.path.join(args.outdir, args.lang + "-" + name)) if args.lang \
        else (lambda name: os.path.join(args.outdir, name))

    step[0] = "open the form"
    driver.load(args.url, "#password", "the reset form")
    result["title"] = driver.s("GET", "/title")
    result["h1"] = driver.text("h1")
    result["html_lang"] = driver.js("return document.documentElement.lang")
    result["label"] = driver.text("label[for=password]")
    result["screenshots"].append(driver.screenshot(shot("1-form.png")))

    if args.switch_to:
        step[0] = "switch the language with the page's own link"
        driver.navigating(
            lambda: driver.click('nav a[hreflang="%s"]' % args.switch_to), "the switched page")
        driver.wait_for("#password", "the form in the other language",
                        time.time() + STEP_TIMEOUT)
        result["switched_lang"] = driver.js("return document.documentElement.lang")
        result["switched_h1"] = driver.text("h1")
        result["screenshots"].append(driver.screenshot(shot("1b-switched.png")))
        step[0] = "switch back"
        driver.navigating(
            lambda: driver.click('nav a[hreflang="%s"]' % result["html_lang"]),
            "the page switched back")
        driver.wait_for("#password", "the form again", time.time() + STEP_TIMEOUT)
        result["back_lang"] = driver.js("return document.documentElement.lang")

    step[0] = "submit mismatching passwords"
    driver.fill("#password", args.password)
    driver.fill("#password2", args.mismatch)
    driver.submit("#password2-error", "the mismatch error")
    result["mismatch_error"] = driver.text("#password2-error")
    described = driver.attribute("#password2", "aria-describedby")
    result["describedby"] = described
    # aria-describedby is a list of ids; the error must be one of them.
    result["describedby_ok"] = "password2-error" in (described or "").split()
    result["aria_invalid"] = driver.attribute("#password2", "aria-invalid")
    result["password_aria_invalid"] = driver.attribute("#password", "aria-invalid")
    result["screenshots"].append(
        driver.screenshot(shot("2-mismatch.png")))

    if args.weak:
        step[0] = "submit a guessable password"
        driver.fill("#password", args.weak)
        driver.fill("#password2", args.weak)
        driver.submit("#password-error", "the strength error")
        result["weak_error"] = driver.text("#password-error")
        described = driver.attribute("#password", "aria-describedby")
        result["weak_describedby_ok"] = "password-error" in (described or "").split()
        result["weak_aria_invalid"] = driver.attribute("#password", "aria-invalid")
        result["screenshots"].append(
            driver.screenshot(shot("2b-weak.png")))

    step[0] = "submit matching passwords"
    driver.fill("#password", args.password)
    driver.fill("#password2", args.password)
    driver.submit("#done", "the success page")
    result["done"] = driver.text("#done")
    result["body"] = driver.text("body")
    result["screenshots"].append(
        driver.screenshot(shot("3-done.png")))


def on_signal(signum, _frame):
    # Turn SIGTERM into an exception so the finally block stops chromedriver and Chromium.
    raise KeyboardInterrupt("interrupted by signal %d" % signum)


def main():
    parser = argparse.ArgumentParser(
        description="Drive the reset page in headless Chromium (see the module docstring).")
    parser.add_argument("url", help="the reset link")
    parser.add_argument("outdir", help="where the screenshots go (created if missing)")
    parser.add_argument("--password", required=True, help="the new password")
    parser.add_argument("--mismatch", required=True,
                        help="a different password, for the mismatch step")
    parser.add_argument("--weak",
                        help="a guessable password the page must refuse, submitted twice "
                             "after the mismatch step (its error tied to #password)")
    parser.add_argument("--lang",
                        help="the browser's language (a BCP 47 tag): Chromium's UI and its "
                             "Accept-Language; screenshots are named LANG-*.png")
    parser.add_argument("--switch-to",
                        help="with --lang: follow the page's own link to this language, check "
                             "the page changed, and come back")
    args = parser.parse_args()
    if args.switch_to and not args.lang:
        parser.error("--switch-to needs --lang")
    if args.password == args.mismatch:
        parser.error("--mismatch must differ from --password")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            sys.exit("%s: %s is missing (install chromium and chromium-driver)" % (PROG, path))
    os.makedirs(args.outdir, exist_ok=True)
    args.outdir = os.path.abspath(args.outdir)

    signal.signal(signal.SIGTERM, on_signal)
    workdir = tempfile.mkdtemp(prefix="chromium-reset-")
    args.profile = os.path.join(workdir, "profile")
    chromedriver = ChromeDriver(os.path.join(workdir, "chromedriver.log"))
    driver = None
    # Every key up front, in output order; a failure report shows null for what was not reached.
    result = {key: None for key in ("title", "h1", "html_lang", "label", "switched_lang",
                                    "switched_h1", "back_lang", "mismatch_error", "describedby",
                                    "describedby_ok", "aria_invalid", "password_aria_invalid",
                                    "weak_error", "weak_describedby_ok", "weak_aria_invalid",
                                    "done", "body")}
    result["screenshots"] = []
    step = ["start chromedriver"]
    failure = None
    try:
        driver = chromedriver.start()
        run(driver, args, result, step)
    except (StepFailed, WebDriverError, OSError, KeyboardInterrupt) as e:
        failure = "%s: %s" % (type(e).__name__, e) if isinstance(e, OSError) else str(e)
    except Exception as e:  # anything unexpected still gets the cleanup and a clear message
        failure = "%s: %s" % (type(e).__name__, e)
    finally:
        # Ignore a second SIGTERM while cleaning up, so cleanup itself is not cut short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if driver is not None and driver.session:
            try:
                driver.call("DELETE", "/session/%s" % driver.session, timeout=15)
            except Exception:
                pass  # killpg below takes care of a browser that does not quit
        log = chromedriver.log_tail() if failure else []
        chromedriver.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    if failure:
        print("%s: failed at step '%s': %s" % (PROG, step[0], failure), file=sys.stderr)
        print("%s: recorded so far: %s" % (PROG, json.dumps(result)), file=sys.stderr)
        if log:
            print("%s: chromedriver log (tail):\n  %s" % (PROG, "\n  ".join(log)),
                  file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
