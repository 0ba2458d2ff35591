"""The dashboard (dashboard.py): Streamlit's AppTest for what it shows and how the
filters act, then once for real: `streamlit run` on 127.0.0.1 and headless Chromium.

The expected numbers are computed here from the generated raw JSON, not from
the warehouse.

The browser part drives Chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe, no port, no extra package) rather than with
``--screenshot --virtual-time-budget``: virtual time does not wait for
Streamlit's websocket, so that screenshot is the loading skeleton about half
the time even on a warm server. Here the test waits until the app says its
script run is over and the charts are drawn, then takes the picture.
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers import REPO, free_port, generated_warehouse, raw_plays, write_config
from streamlit.testing.v1 import AppTest

DASHBOARD = REPO / "dashboard.py"
BUILD_COMMAND = "python create_tables.py && python etl.py"
CHARTS = 10  # weekday, hour, level, gender, songs, artists, os, browser, daily plays, conversions
PAID_BLUE = (0x1F, 0x77, 0xB4)  # the dashboard's colour for paid plays and most bars


# ------------------------------------------------------------------ the sample and what it should show


def plays_by_day(root: Path) -> list[dict]:
    """NextSong events with their match (helpers.raw_plays) and their UTC day."""
    plays = raw_plays(root)
    for play in plays:
        play["day"] = datetime.fromtimestamp(play["ts"] / 1000, UTC).date()
    return plays


def expected_metrics(plays: list[dict]) -> dict[str, str]:
    """The four headline numbers as the page shows them."""
    matched = [p for p in plays if p["song_id"]]
    return {
        "Plays": f"{len(plays):,}",
        "Users": f"{len({p['userId'] for p in plays}):,}",
        "Songs": f"{len({p['song_id'] for p in matched}):,}",
        "Match rate": f"{len(matched) / len(plays):.1%}",
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A small generated warehouse: (its config file, the raw plays)."""
    root = tmp_path_factory.mktemp("dashboard")
    config = generated_warehouse(root, events=2_000, songs=80, seed=4)
    return config, plays_by_day(root / "input")


@pytest.fixture
def app(sample, monkeypatch) -> AppTest:
    monkeypatch.setenv("DWH_CONFIG", str(sample[0]))
    return AppTest.from_file(str(DASHBOARD), default_timeout=60)


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


# ------------------------------------------------------------------ AppTest


def test_dashboard_shows_the_headline_numbers(app, sample):
    app.run()
    assert not app.exception
    assert metrics(app) == expected_metrics(sample[1])
    assert app.caption[0].value == "engine duckdb, database warehouse.duckdb (dwh.cfg) - all plays"


def test_dashboard_draws_every_chart(app):
    app.run()
    assert not app.exception
    assert len(app.get("vega_lite_chart")) == CHARTS
    assert [header.value for header in app.subheader] == [
        "Activity by weekday",
        "Plays by hour of day (UTC)",
        "Paid vs free",
        "Gender",
        "Most played songs and artists",
        "Operating systems and browsers",
        "Plays over time, and users converting from free to paid",
    ]
    assert len(app.dataframe) == 2


def test_filters_change_the_numbers(app, sample):
    plays = sample[1]
    app.run()
    everything = metrics(app)

    app.multiselect(key="levels").select("paid").run()
    paid = [p for p in plays if p["level"] == "paid"]
    assert metrics(app) == expected_metrics(paid) != everything
    assert app.caption[0].value.endswith(" - level paid")

    app.multiselect(key="genders").select("F").run()
    paid_women = [p for p in paid if p["gender"] == "F"]
    assert metrics(app) == expected_metrics(paid_women)

    start, end = date(2018, 11, 8), date(2018, 11, 14)
    app.date_input(key="dates").set_value((start, end)).run()
    week = [p for p in paid_women if start <= p["day"] <= end]
    assert metrics(app) == expected_metrics(week)
    assert app.caption[0].value.endswith(" - 2018-11-08 to 2018-11-14, level paid, gender F")

    # an empty choice means all again
    app.multiselect(key="levels").set_value([]).run()
    app.multiselect(key="genders").set_value([]).run()
    app.date_input(key="dates").set_value((date(2018, 11, 1), date(2018, 11, 30))).run()
    assert metrics(app) == everything
    assert not app.exception
    assert len(app.get("vega_lite_chart")) == CHARTS


def test_half_picked_date_range_starts_there(app, sample):
    app.run()
    app.date_input(key="dates").set_value((date(2018, 11, 20),)).run()
    assert not app.exception
    assert metrics(app) == expected_metrics([p for p in sample[1] if p["day"] >= date(2018, 11, 20)])


def test_no_warehouse_yet_shows_the_build_command(tmp_path, monkeypatch):
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "not-built.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    monkeypatch.setenv("DWH_CONFIG", str(config))
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60).run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "No warehouse to show yet: DuckDB database not-built.duckdb does not exist yet "
        "- run create_tables.py and etl.py"
    ]
    assert [code.value for code in at.code] == [BUILD_COMMAND]
    assert not at.metric
    assert not (tmp_path / "not-built.duckdb").exists()


def test_a_warehouse_a_load_holds_is_busy_not_missing(tmp_path, monkeypatch):
    """While etl.py holds the DuckDB file the dashboard says so, and never offers to build the warehouse again
    (create_tables.py would drop it)."""
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "busy.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    monkeypatch.setenv("DWH_CONFIG", str(config))
    holder = subprocess.Popen(  # a load: a writer holding the file
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "time.sleep(120)", str(tmp_path / "busy.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        at = AppTest.from_file(str(DASHBOARD), default_timeout=60).run()
    finally:
        holder.kill()
        holder.wait()
    assert not at.exception
    assert [info.value for info in at.info] == ["A load is running and holds the warehouse - reload this page in a moment."]
    assert not at.error and not at.code and not at.metric


def test_a_missing_config_file_is_a_message_too(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_CONFIG", str(tmp_path / "gone.cfg"))
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.endswith("gone.cfg (from $DWH_CONFIG) not found")


def load_dashboard_module():
    """dashboard.py imported as a module (not run by Streamlit), fresh each time."""
    spec = importlib.util.spec_from_file_location("dashboard_under_test", DASHBOARD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_importing_the_dashboard_does_no_work(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_CONFIG", str(tmp_path / "would-fail.cfg"))  # any config read would raise
    module = load_dashboard_module()
    assert callable(module.main)


def test_the_dashboard_imports_the_installed_project():
    # no sys.path edits: requirements-analytics.txt installs the project (test_notebook checks where from)
    assert "sys.path" not in DASHBOARD.read_text()


def test_a_date_range_at_the_data_bounds_means_all_days():
    date_filter = load_dashboard_module().date_filter
    first, last = date(2018, 11, 1), date(2018, 11, 30)
    assert date_filter((first, last), first, last) == (None, None)
    assert date_filter((date(2018, 11, 3), date(2018, 11, 9)), first, last) == (date(2018, 11, 3), date(2018, 11, 9))
    # while a range is being picked the widget holds one date: the start
    assert date_filter([date(2018, 11, 3)], first, last) == (date(2018, 11, 3), None)
    assert date_filter((), first, last) == (None, None)
    assert date_filter(date(2018, 11, 2), first, last) == (date(2018, 11, 2), None)


# ------------------------------------------------------------------ a real browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 1400, 1800


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def streamlit_server(sample, tmp_path_factory):
    """`streamlit run dashboard.py` as documented, from the project folder with its .streamlit/config.toml
    (nothing about the address or statistics on the command line, no user's ~/.streamlit, no STREAMLIT_*
    variables), with the sample's config: (its URL on 127.0.0.1, its log). Always stopped."""
    port = free_port()
    folder = tmp_path_factory.mktemp("streamlit")
    log = folder / "server.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith("STREAMLIT_")}
    env.update(DWH_CONFIG=str(sample[0]), HOME=str(folder))
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(DASHBOARD),
             "--server.port", str(port), "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer on {url}: {log.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(streamlit_server) -> str:
    return streamlit_server[0]


def listening(port: int) -> list[str]:
    """The local addresses of every TCP socket listening on port, from the kernel's tables (IPv4 and IPv6)."""
    found = []
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # the kernel writes each 32-bit word in host (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, width, 4))
                found.append(str(ipaddress.ip_address(words)))
    return found


def test_the_dashboard_listens_on_this_machine_only(streamlit_server):
    url, log = streamlit_server
    port = int(url.rsplit(":", 1)[1].strip("/"))
    addresses = listening(port)
    assert addresses, f"nothing listens on port {port}"
    assert all(ipaddress.ip_address(address).is_loopback for address in addresses), addresses
    # one URL, and no "Network URL" / "External URL": it did not ask an outside service for this machine's IP
    text = log.read_text()
    assert f"URL: http://127.0.0.1:{port}" in text
    assert "Network URL" not in text and "External URL" not in text, text


def test_the_listening_check_sees_a_socket_open_to_the_network():
    """listening() itself: a socket bound to every interface is found, and is not loopback."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert listening(port) == ["0.0.0.0"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert listening(sock.getsockname()[1]) == ["127.0.0.1"]


class DevTools:
    """Headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, chromium: str, profile: Path):
        to_chrome, self._send = os.pipe()
        self._receive, from_chrome = os.pipe()
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_chrome} 4>&{from_chrome}', "chromium", chromium, *CHROMIUM_FLAGS,
             f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-pipe",
             "about:blank"],
            pass_fds=(to_chrome, from_chrome), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._last_id = 0

    def call(self, method: str, session: str | None = None, timeout: float = 30, **params):
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._send, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._receive], [], [], left)[0]:
                    raise TimeoutError(f"chromium did not answer {method} within {timeout} s")
                chunk = os.read(self._receive, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium exited during {method}")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._send)
        os.close(self._receive)


# What the page looks like now: the app's own run state (as Streamlit's e2e tests read it), and what is drawn.
PAGE_STATE = """(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return {
    state: app ? app.getAttribute('data-test-script-state') : null,
    metrics: Array.from(document.querySelectorAll('[data-testid="stMetricValue"]'), e => e.innerText.trim()),
    charts: document.querySelectorAll(
      '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').length,
  };
})()"""


def screenshot(chromium: str, url: str, path: Path, wait: float = 45) -> dict:
    """Open url in a fresh profile, wait until the app has run and drawn its charts, save a PNG; the page state."""
    profile = Path(tempfile.mkdtemp(prefix="sparkify-chromium-"))
    browser = DevTools(chromium, profile)
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.call("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=HEIGHT,
                     deviceScaleFactor=1, mobile=False)
        browser.call("Page.navigate", session, url=url)
        deadline = time.monotonic() + wait
        while True:
            state = browser.call("Runtime.evaluate", session, expression=PAGE_STATE, returnByValue=True)
            state = state["result"]["value"]
            if state["state"] == "notRunning" and len(state["metrics"]) == 4 and state["charts"] >= CHARTS:
                break
            if time.monotonic() > deadline:
                break  # take the picture anyway: the checks below say what is missing
            time.sleep(0.25)
        time.sleep(0.5)  # the last chart's paint
        shot = browser.call("Page.captureScreenshot", session, format="png")["data"]
        path.write_bytes(base64.b64decode(shot))
        return state
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)


def picture_facts(path: Path) -> dict:
    """Size, distinct colours, and the share of non-white and of the dashboard's blue pixels."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    flat = rgb.reshape(-1, 3)
    return {
        "size": (rgb.shape[1], rgb.shape[0]),
        "colours": len(np.unique(flat, axis=0)),
        "ink": float((flat.min(axis=1) < 200).mean()),
        "blue": float((np.abs(flat - np.array(PAID_BLUE)).max(axis=1) <= 12).mean()),
    }


def test_dashboard_renders_in_a_real_browser(chromium, server, sample, tmp_path):
    expected = expected_metrics(sample[1])
    for attempt in range(1, 4):  # a fresh browser each time: the first load after start can come up blank
        path = tmp_path / f"dashboard-{attempt}.png"
        state = screenshot(chromium, server, path)
        facts = picture_facts(path)
        if state["charts"] >= CHARTS and facts["blue"] > 0.01:
            break
    assert state["state"] == "notRunning", state
    assert state["metrics"] == list(expected.values())
    assert state["charts"] >= CHARTS
    assert facts["size"] == (WIDTH, HEIGHT)
    assert facts["colours"] > 200, facts  # text, charts and widgets, not a blank or skeleton page
    assert facts["ink"] > 0.02, facts
    assert facts["blue"] > 0.01, facts  # the bars are drawn
