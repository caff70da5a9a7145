"""A real browser for the page's tests: Debian's headless Chromium driven by Selenium, and a stage-path proxy.

No browser (or no Selenium) means the page tests are skipped with one message saying what to install, unless
``PAGE_TESTS_REQUIRED=1`` (CI sets it), which makes them fail instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("PAGE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("PAGE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
REQUIRED = "PAGE_TESTS_REQUIRED"
NO_BROWSER = ("no browser: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) "
              "to run the page tests")
# As this machine needs them: without the background-networking flags Chromium keeps trying to reach Google's
# hosts, which the closed network refuses.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--window-size=1200,1800")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def missing_browser() -> str | None:
    """Why the page tests cannot run here, or None when they can."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not (path.is_file() and os.access(path, os.X_OK))]
    if missing:
        return f"{NO_BROWSER} ({', '.join(missing)} not found)"
    if importlib.util.find_spec("selenium") is None:
        return "no Selenium in this environment: make venv installs it (requirements-dev.txt)"
    return None


def skip_reason() -> str | None:
    """Why a module of page tests should be skipped whole: no browser here, and PAGE_TESTS_REQUIRED is not 1."""
    return None if os.environ.get(REQUIRED) == "1" else missing_browser()


def require_browser() -> None:
    """Skip the calling test when there is no browser; fail it instead when PAGE_TESTS_REQUIRED=1."""
    reason = missing_browser()
    if reason is None:
        return
    if os.environ.get(REQUIRED) == "1":
        pytest.fail(f"{reason}; {REQUIRED}=1 says the page tests must run", pytrace=False)
    pytest.skip(reason)


class Browser:
    """A page in headless Chromium, as the tests use it: elements by id, waits, keys, the console's complaints.

    Selenium is imported only here, once a browser is known to be there.
    """

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str, ready: str) -> None:
        """Load ``url`` and wait until the element ``ready`` is shown."""
        self.driver.get(url)
        self.wait(lambda: self.by_id(ready).is_displayed())

    def by_id(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id: str) -> str:
        return str(self.by_id(element_id).text)

    def wait(self, condition: Callable[[], Any], timeout: float = 30) -> Any:
        """The first true value of ``condition()``, polled every 0.1 s for at most ``timeout`` seconds."""
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda _: condition())

    def press(self, *keys: str) -> None:
        """Type ``keys`` (names from Selenium's Keys, such as "TAB") where the focus is."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        ActionChains(self.driver).send_keys(*(getattr(Keys, key) for key in keys)).perform()

    def focused(self) -> str:
        return str(self.driver.switch_to.active_element.get_attribute("id"))

    def options(self, element_id: str) -> list[tuple[str, str, bool]]:
        """A select's options: (value, text, selected)."""
        return [(option.get_attribute("value"), option.text, option.is_selected())
                for option in self.by_id(element_id).find_elements("tag name", "option")]

    def script(self, source: str) -> Any:
        return self.driver.execute_script(source)

    def problems(self) -> list[str]:
        """What the console said went wrong in the page itself since the last call: a blocked script or style
        (the Content-Security-Policy), an uncaught error."""
        return [entry["message"] for entry in self.driver.get_log("browser")
                if any(word in entry["message"] for word in ("Content Security Policy", "Uncaught", "Refused to"))]


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Browser]:
    """A headless Chromium with a new profile in ``profile``; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class _Forward(BaseHTTPRequestHandler):
    """Serves ``prefix`` + path by calling ``upstream`` + path, as API Gateway serves a stage."""

    upstream = ""
    prefix = ""

    def _forward(self) -> None:
        if not (self.path == self.prefix or self.path.startswith(self.prefix + "/")):
            self._answer(403, {"Content-Type": "application/json"}, b'{"message": "Missing Authentication Token"}')
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        headers = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "connection")}
        request = urllib.request.Request(self.upstream + (self.path[len(self.prefix):] or "/"), data=body,
                                         headers=headers, method=self.command)
        try:
            with _NO_PROXY.open(request, timeout=30) as response:
                self._answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            self._answer(error.code, dict(error.headers), error.read())

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def stage_proxy(upstream: str, prefix: str = "/dev") -> Iterator[str]:
    """Serve ``upstream`` under ``prefix`` on a free loopback port; yields the stage's URL (no trailing slash)."""
    handler = type("StageForward", (_Forward,), {"upstream": upstream, "prefix": prefix})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="stage-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
