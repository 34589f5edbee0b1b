"""The HTML report in real headless Chromium (Debian's `chromium`): it loads with no console errors, the map and
the cost chart render, and trace text carrying script payloads shows as text and runs nothing.

The browser is driven over the Chrome DevTools Protocol on --remote-debugging-pipe (file descriptors 3 and 4,
NUL-separated JSON; standard library only). Over the protocol the test hears every console message
(Runtime.consoleAPICalled), uncaught exception (Runtime.exceptionThrown) and browser log entry (Log.entryAdded:
CSP violations, failed loads) as an event, can wait until the plots are drawn instead of guessing a time budget,
and can ask the DOM questions afterwards. Scraping "CONSOLE" lines from --enable-logging stderr would miss
exceptions and CSP reports and mix with the browser's own noise. A second test runs the plain command line
(--dump-dom with --screenshot) as a cross-check that needs no protocol code at all.

Payloads do something observable if they ever run: they set data-pwned on <body>, window.__pwned, or the title.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from slmscout.analyzers.analysis import VERDICT_LABELS
from slmscout.reports.html import BAR_CLUSTERS, render_html
from tests.test_html_report import injected_run, sample_analysis

WIDTH, HEIGHT = 1400, 2000
TIMEOUT = 20.0
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
)
PWN = "document.body.setAttribute('data-pwned','{0}');window.__pwned='{0}';document.title='pwned {0}'"
PAYLOAD = (
    f"$E$ <script>{PWN.format(1)}</script>"
    f'<img src=x onerror="{PWN.format(2)}">'
    f"</script><script>{PWN.format(3)}</script>"
    f'"\'><svg onload="{PWN.format(4)}"></svg>'
    '<a href="javascript:alert(1)">link</a><b>bold</b> $x$ \u2028 \u2029 &amp; <!-- -->'
)


def find_browser() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("SLMSCOUT_REQUIRE_BROWSER") == "1":
        pytest.fail("SLMSCOUT_REQUIRE_BROWSER=1 but neither chromium nor chromium-browser is on PATH")
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    path = find_browser()
    if path is None:
        pytest.skip("chromium is not installed (set SLMSCOUT_REQUIRE_BROWSER=1 to make this a failure)")
    return path


@pytest.fixture(scope="module")
def payload_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run, examples = injected_run(PAYLOAD)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(run, examples), encoding="utf-8")
    return path


# ---- a minimal DevTools Protocol client over the pipe ----------------------------------------------------------


class DevTools:
    """Chromium started with --remote-debugging-pipe: it reads commands on fd 3 and writes replies on fd 4."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child, before exec: put the two pipe ends on fds 3 and 4
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
            os.close(high_r)
            os.close(high_w)

        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [executable, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                close_fds=False,
                preexec_fn=wire_pipes,
            )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, session: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        for event in self.events:
            if event["method"] == method:
                return event
        while True:
            event = self._receive(deadline)
            if "method" in event:
                self.events.append(event)
                if event["method"] == method:
                    return event

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive in the next few seconds (late errors, payloads firing after load)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                event = self._receive(deadline)
            except TimeoutError:
                return
            if "method" in event:
                self.events.append(event)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message from chromium in time")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise ConnectionError("chromium closed the DevTools pipe (did it start?)")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def close(self) -> None:
        with contextlib.suppress(AssertionError, ConnectionError, TimeoutError, OSError):
            self.send("Browser.close", session=False)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@dataclass
class Loaded:
    """What the browser saw: errors, the DOM's answers after the plots were drawn, a screenshot."""

    errors: list[str] = field(default_factory=list)
    dom: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""
    by_verdict: list[str] = field(default_factory=list)  # the map's legend after "colour by verdict" is clicked
    control_pwned: str | None = None  # what the payload did on a page that does not escape it
    seconds: float = 0.0


CLICK = "new MouseEvent('click', {bubbles: true})"
LEGEND = "Array.from(document.querySelectorAll('#plot-map .legendtext')).map(e => e.textContent)"
DOM_QUESTIONS = """({
  pwned: document.body.getAttribute('data-pwned') || window.__pwned || null,
  title: document.title,
  mapSvgs: document.querySelectorAll('#plot-map .main-svg').length,
  costSvgs: document.querySelectorAll('#plot-cost .main-svg').length,
  mapPoints: document.querySelectorAll('#plot-map .scatterlayer .point').length,
  costBars: document.querySelectorAll('#plot-cost .barlayer .point').length,
  legend: Array.from(document.querySelectorAll('#plot-map .legendtext')).map(e => e.textContent),
  legendHtml: Array.from(document.querySelectorAll('#plot-map .legendtext')).map(e => e.innerHTML),
  clusterCell: document.querySelector('td.cluster').textContent,
  runId: document.querySelector('#run dd').textContent,
  injected: document.querySelectorAll('img, svg script, a[href^="javascript"], iframe, object, embed').length,
  codeScripts: document.querySelectorAll('script:not([type])').length,
  scripts: document.querySelectorAll('script').length,
})"""


def load(executable: str, page: Path, workdir: Path) -> Loaded:
    started = time.monotonic()
    devtools = DevTools(executable, workdir / "profile", workdir / "chromium.log")
    loaded = Loaded()
    try:
        target = devtools.send("Target.createTarget", {"url": "about:blank"})
        attached = devtools.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        devtools.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            devtools.send(f"{domain}.enable")
        devtools.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        devtools.send("Page.navigate", {"url": page.as_uri()})
        devtools.wait_for("Page.loadEventFired")
        deadline = time.monotonic() + TIMEOUT
        drawn = "document.querySelectorAll('#plot-map .main-svg, #plot-cost .main-svg').length"
        while not (devtools.evaluate(f"document.querySelector('#plot-cost .main-svg') && {drawn}")):
            assert time.monotonic() < deadline, "the plots were not drawn"
            devtools.drain(0.2)
        devtools.drain(1.0)  # let anything late (image errors, timers) happen before looking
        loaded.dom = devtools.evaluate(DOM_QUESTIONS)
        shot = devtools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        loaded.screenshot = base64.b64decode(shot["data"])
        devtools.evaluate(f"document.querySelectorAll('#plot-map .updatemenu-button')[1].dispatchEvent({CLICK})")
        devtools.drain(0.5)
        loaded.by_verdict = devtools.evaluate(LEGEND)
        loaded.errors = console_errors(devtools.events)
        # Control: the same payload written into a page unescaped and without the policy does run, so the
        # checks above would see it if the report ever let it through.
        control = workdir / "control.html"
        control.write_text(f"<!DOCTYPE html><html><body><p>{PAYLOAD}</p></body></html>", encoding="utf-8")
        devtools.send("Page.navigate", {"url": control.as_uri()})
        devtools.drain(1.0)
        loaded.control_pwned = devtools.evaluate("document.body.getAttribute('data-pwned')")
    finally:
        devtools.close()
    loaded.seconds = time.monotonic() - started
    return loaded


def console_errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append("console." + params["type"] + ": " + " ".join(str(a.get("value")) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
    return errors


@pytest.fixture(scope="module")
def loaded(browser: str, payload_page: Path, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    return load(browser, payload_page, tmp_path_factory.mktemp("chromium"))


# ---- PNG reading with the standard library ---------------------------------------------------------------------


def png_pixels(data: bytes) -> Iterator[bytes]:
    """The rows of an 8-bit RGB or RGBA PNG (what Chromium writes), unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            compressed += body
    raw = zlib.decompress(compressed)
    stride = width * channels
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        filter_type, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if filter_type == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif filter_type == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif filter_type == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif filter_type == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        else:
            assert filter_type == 0, filter_type
        previous = line
        yield bytes(line) if channels == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3)


def colour_counts(png: bytes) -> tuple[int, int, int]:
    """(distinct colours, pixels that are not white, width*height) of a screenshot."""
    colours: set[bytes] = set()
    not_white = total = 0
    for row in png_pixels(png):
        for i in range(0, len(row), 3):
            pixel = row[i : i + 3]
            total += 1
            if pixel != b"\xff\xff\xff":
                not_white += 1
                colours.add(pixel)
    return len(colours), not_white, total


# ---- tests -----------------------------------------------------------------------------------------------------


def test_page_loads_without_console_errors(loaded: Loaded) -> None:
    assert loaded.errors == []
    assert loaded.seconds < 30


def test_payloads_show_as_text_and_run_nothing(loaded: Loaded) -> None:
    assert loaded.control_pwned is not None  # the payload is live: it runs where it is not escaped
    dom = loaded.dom
    assert dom["pwned"] is None
    assert dom["title"] == "slmscout report: run " + PAYLOAD
    assert dom["injected"] == 0
    assert dom["scripts"] == 4 and dom["codeScripts"] == 2  # plotly.js and the drawing script; two JSON blocks
    assert dom["clusterCell"] == PAYLOAD  # the whole payload, as text
    assert dom["runId"] == "run " + PAYLOAD
    legend = dom["legend"][0]
    assert legend.startswith("#0 $E$ <script>document.body") and "<" in legend  # plotly shows the markup as text
    assert "<" not in dom["legendHtml"][0].replace("&lt;", "")


def test_map_and_chart_render(loaded: Loaded) -> None:
    dom = loaded.dom
    assert dom["mapSvgs"] >= 1 and dom["costSvgs"] >= 1
    analysis = sample_analysis()
    assert dom["mapPoints"] == analysis.total_calls  # every call of the sample, in the visible (by cluster) traces
    assert dom["costBars"] == 3 * min(len(analysis.clusters), BAR_CLUSTERS)
    colours, not_white, total = colour_counts(loaded.screenshot)
    assert total == WIDTH * HEIGHT
    assert colours >= 50 and not_white > total // 50, (colours, not_white)


def test_map_toggles_to_verdict_colours(loaded: Loaded) -> None:
    kinds = {c.verdict.kind for c in sample_analysis().clusters}
    assert sorted(loaded.by_verdict) == sorted(VERDICT_LABELS[kind] for kind in kinds)


def test_plain_command_line_dump_dom_and_screenshot(browser: str, payload_page: Path, tmp_path: Path) -> None:
    """The same page through the plain headless flags, with no protocol code: scripts ran (the plots are in the
    dumped DOM), the payloads did not, and the screenshot is not blank."""
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            browser,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--virtual-time-budget=5000",
            f"--screenshot={shot}",
            "--dump-dom",
            payload_page.as_uri(),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    dom = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, result.stderr[-2000:]
    assert dom.count('class="main-svg"') >= 2
    plot_map, plot_cost = dom.index('id="plot-map"'), dom.index('id="plot-cost"')
    assert 'class="main-svg"' in dom[plot_map:plot_cost] and 'class="main-svg"' in dom[plot_cost:]
    assert not re.search(r"<body[^>]*data-pwned", dom) and "<title>pwned" not in dom
    assert "run $E$ &lt;script&gt;document.body.setAttribute('data-pwned','1')" in dom  # the payload, as text
    colours, not_white, _ = colour_counts(shot.read_bytes())
    assert colours >= 50 and not_white > 0
