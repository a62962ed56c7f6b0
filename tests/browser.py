"""Headless Chromium driven over the Chrome DevTools Protocol on a pipe.

No driver and no Python package: Chromium started with `--remote-debugging-pipe` reads
protocol commands (JSON, each ended by a NUL byte) on its fd 3 and writes answers and
events on its fd 4. That is all a test needs to load a page, run script in it, read
what it shows and take a screenshot.

    with Browser() as browser:
        page = browser.new_page(1280, 800)
        page.goto("http://127.0.0.1:10717/wallboard")
        page.wait_for("document.body.dataset.renders >= 1")
        page.screenshot("wallboard.png")

Chromium is Debian's (`/usr/bin/chromium`; `tests.support.require_binary` skips locally
without it and fails under CI=true). Never a downloaded browser.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Flags for a closed network: without the background-networking ones Chromium waits on
# services it cannot reach.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


def _high_pipe() -> tuple[int, int]:
    """A pipe whose fds are 10 or above, so the shell's `3<&N 4>&M` cannot clobber them."""
    fds = []
    for fd in os.pipe():
        fds.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return fds[0], fds[1]


class CdpError(RuntimeError):
    """A protocol command failed, timed out, or the page threw."""


class Browser:
    def __init__(self, binary: str = "/usr/bin/chromium", *, timeout: float = 15.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="convoso-chromium-")
        self._next_id = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._answers: dict[int, dict] = {}
        self._events: list[dict] = []
        self._closed = False
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        commands_read, self._commands = _high_pipe()
        self._answers_fd, answers_write = _high_pipe()
        args = [*FLAGS, f"--user-data-dir={self._profile}", "about:blank"]
        # bash (dash takes single-digit fds only) puts the pipe ends at the fds Chromium expects (3 in, 4 out).
        script = f'exec "$0" "$@" 3<&{commands_read} 4>&{answers_write} {commands_read}<&- {answers_write}>&-'
        self._proc = subprocess.Popen(
            ["bash", "-c", script, self.binary, *args],
            pass_fds=(commands_read, answers_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        threading.Thread(target=self._read, name="cdp-reader", daemon=True).start()

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
                self._proc.wait(timeout=5)
            except (CdpError, OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(timeout=5)
        for fd in (getattr(self, "_commands", None), getattr(self, "_answers_fd", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        shutil.rmtree(self._profile, ignore_errors=True)

    # --- protocol -------------------------------------------------------------------

    def call(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float | None = None) -> dict:
        """Send one command and wait for its answer; CdpError on an error answer."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._changed:
            while ident not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CdpError(f"{method}: no answer within {timeout or self.timeout}s")
                self._changed.wait(left)
            answer = self._answers.pop(ident)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def events(self, method: str, session: str | None = None) -> list[dict]:
        """Every event of this kind received so far (params), oldest first."""
        with self._lock:
            return [e.get("params", {}) for e in self._events
                    if e.get("method") == method and (session is None or e.get("sessionId") == session)]

    def wait_event(self, method: str, session: str, after: int, timeout: float) -> dict:
        """The first event of this kind beyond the first `after` ones."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [e for e in self._events if e.get("method") == method and e.get("sessionId") == session]
                if len(found) > after:
                    return found[after].get("params", {})
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CdpError(f"no {method} within {timeout}s")
                self._changed.wait(left)

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._answers_fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._changed:
                    self._closed = True
                    self._changed.notify_all()
                return
            pending += chunk
            *messages, pending = pending.split(b"\0")
            with self._changed:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self._events.append(message)
                self._changed.notify_all()

    # --- pages ----------------------------------------------------------------------

    def new_page(self, width: int = 1280, height: int = 800) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def call(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def goto(self, url: str, timeout: float = 15.0) -> None:
        """Navigate and wait for the load event."""
        loads = len(self.browser.events("Page.loadEventFired", self.session))
        answer = self.call("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise CdpError(f"navigate {url}: {answer['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, loads, timeout)

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        answer = self.call("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True, "awaitPromise": True}, timeout)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise CdpError(f"{expression!r} threw: {details.get('exception', {}).get('description') or details}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0, every: float = 0.1) -> Any:
        """Evaluate until the expression is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise CdpError(f"{expression!r} still falsy after {timeout}s (last: {value!r})")
            time.sleep(every)

    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors and browser error log entries (CSP included)."""
        found = [e["exceptionDetails"].get("text", "") + " " + str(e["exceptionDetails"].get("exception", {}).get("description", ""))
                 for e in self.browser.events("Runtime.exceptionThrown", self.session)]
        found += [" ".join(str(a.get("value", a.get("description", ""))) for a in e.get("args", []))
                  for e in self.browser.events("Runtime.consoleAPICalled", self.session) if e.get("type") == "error"]
        found += [e["entry"].get("text", "") for e in self.browser.events("Log.entryAdded", self.session)
                  if e["entry"].get("level") == "error"]
        return found

    def screenshot(self, path: str | Path | None = None) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data
