"""A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`.

Python's standard library only: Chromium reads commands from descriptor 3 and writes
replies and events to descriptor 4, each message JSON ended by a NUL byte. No WebSocket,
no package to install, no port to open. Used by scripts/book-browser-test.py.

    with Browser() as b:
        page = b.new_page(1280, 900)
        page.goto("file:///.../tunnel.html")
        page.eval("document.title")
"""

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


class CdpError(Exception):
    """A failed command, a browser that went away, or one that took too long."""


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """A headless Chromium with a fresh profile, killed (with its children) on exit."""

    def __init__(self, executable=None, timeout=20.0):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise CdpError("no Chromium found: install Debian's `chromium` package "
                           "(apt-get install chromium)")
        self.timeout = timeout
        self.proc = None
        self.profile = None
        self.buffer = b""
        self.next_id = 0
        self.events = []  # the events someone may wait for
        self.requests = []  # every URL a page asked for (Network.enable)
        self.exceptions = []  # uncaught script errors (Runtime.enable)

    def __enter__(self):
        self.profile = tempfile.mkdtemp(prefix="book-chromium-")
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()

        def child_fds():
            a, b = os.dup(cmd_r), os.dup(ev_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=child_fds,
            start_new_session=True,
        )
        os.close(cmd_r)
        os.close(ev_w)
        self.w = cmd_w
        self.r = ev_r
        return self

    def __exit__(self, *exc):
        try:
            if self.proc and self.proc.poll() is None:
                try:
                    self.send("Browser.close", timeout=3)
                except CdpError:
                    pass
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if self.proc and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
            for fd in (getattr(self, "w", None), getattr(self, "r", None)):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            if self.profile:
                shutil.rmtree(self.profile, ignore_errors=True)
        return False

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("Chromium did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                raise CdpError("Chromium closed the DevTools pipe (did it crash?)")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(raw)

    def send(self, method, params=None, session=None, timeout=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._event(reply)

    def _event(self, ev):
        method = ev.get("method")
        if method == "Network.requestWillBeSent":
            self.requests.append(ev["params"]["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            details = ev["params"]["exceptionDetails"]
            self.exceptions.append(
                details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Page.loadEventFired":
            self.events.append(ev)

    def wait_event(self, method, session=None, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and (session is None or ev.get("sessionId") == session):
                    del self.events[i]
                    return ev
            self._event(self._read_message(deadline))

    def new_page(self, width, height):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.resize(width, height)
        return page


class Page:
    def __init__(self, browser, session):
        self.b = browser
        self.session = session

    def send(self, method, params=None):
        return self.b.send(method, params, session=self.session)

    def resize(self, width, height):
        self.width = width
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def goto(self, url):
        self.b.events.clear()
        self.send("Page.navigate", {"url": url})
        self.b.wait_event("Page.loadEventFired", session=self.session)

    def eval(self, expression):
        result = self.send("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True,
        })
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CdpError(f"page script failed: {text}\n  in: {expression[:200]}")
        return result["result"].get("value")

    def click(self, selector):
        """A real click: mouse pressed and released at the centre of the element."""
        box = self.eval(
            "(() => { const e = document.querySelector(%s); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height]; })()"
            % json.dumps(selector))
        if box is None:
            raise CdpError(f"nothing to click: no element matches {selector}")
        x, y, w, h = box
        if w == 0 or h == 0:
            raise CdpError(f"cannot click {selector}: it is not displayed")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path, full_page=True):
        params = {"format": "png"}
        if full_page:
            metrics = self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": self.width,
                              "height": min(size["height"], 16000), "scale": 1}
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data
