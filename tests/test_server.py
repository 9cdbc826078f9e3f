"""`xlperf serve`: the 绩效自评 ribbon for Excel on the web and Mac, through xlwings Server.

A real server in a subprocess on 127.0.0.1, over HTTPS with a certificate made here (real Excel needs HTTPS):
the recalc/check scripts answer a workbook payload with the same sheets `xlperf recalc` writes,
the scripts metadata lists them, the manifest parses and each of its buttons runs an existing
script through ribbon.js (evaluated by node against a stubbed Office/xlwings). ribbon.js' own
tests (tests/js/, node --test) run from here too. Errors of the command itself: Chinese, exit 2.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import httpx
import openpyxl
import pytest
from defusedxml import ElementTree
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("xlwings_server")  # the `server` extra (pip install -e '.[all]' includes it)

from xlperf import layout as L  # noqa: E402
from xlperf.actions import ACTIONS  # noqa: E402
from xlperf.cli import app  # noqa: E402
from xlperf.profiles import load_profile  # noqa: E402
from xlperf.server import PROJECT_DIR  # noqa: E402
from xlperf.server.cli import MANIFEST_IDS  # noqa: E402
from xlperf.template.build import new_workbook  # noqa: E402
from xlperf.template.examples import example_projects  # noqa: E402

from .remote_book import apply_actions, payload_from_openpyxl  # noqa: E402
from .test_mail import free_port, make_certificates  # noqa: E402
from .servers import stop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JS_TESTS = ROOT / "tests" / "js"
NS = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1",
      "v": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
      "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = f"{{{NS['xsi']}}}type"
STARTUP_SECONDS = 30
runner = CliRunner()


# ---- a real server ---------------------------------------------------------------------
class Server:
    """A running `xlperf serve`; the first request waits until it answers (it starts while the test builds its data)."""

    def __init__(self, base_url: str, process: subprocess.Popen, log: Path, ca: Path):
        self.base_url, self.process, self.log = base_url, process, log
        self.http = httpx.Client(base_url=base_url, timeout=60, verify=ssl.create_default_context(cafile=str(ca)))
        self.ready = False

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.ready:
            if self.process.poll() is not None:
                pytest.fail(f"xlperf serve exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"xlperf serve did not answer within {STARTUP_SECONDS} s:\n{self.output()}")
            try:
                self.ready = self.http.get("/xlwings/custom-scripts-meta").status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def get(self, path: str, **kwargs) -> httpx.Response:
        self.wait_until_ready()
        return self.http.get(path, **kwargs)

    def call(self, script: str, payload: dict) -> httpx.Response:
        self.wait_until_ready()
        return self.http.post(f"/xlwings/custom-scripts-call/{script}", json=payload)


def server_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLWINGS_", "XLPERF_"))}
    env.update(XLWINGS_LICENSE_KEY="noncommercial", XLWINGS_ON_SERVER="true", XLWINGS_ENABLE_SOCKETIO="false")
    return env


@contextlib.contextmanager
def start_server(directory: Path, *options: str):
    """`xlperf serve [options]` over HTTPS (as real Excel needs it) with a certificate made here, in a subprocess;
    always stopped."""
    ca, cert, key = make_certificates(directory)
    port = free_port()
    log = directory / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "xlperf", "serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--ssl-keyfile", str(key), "--ssl-certfile", str(cert), *options],
                                   stdout=out, stderr=subprocess.STDOUT, env=server_env(), cwd=directory)
    server = Server(f"https://127.0.0.1:{port}", process, log, ca)
    try:
        yield server
    finally:
        server.http.close()
        stop(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with start_server(tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The example workbook as a user has it, and what `xlperf recalc` makes of it (file and JSON)."""
    directory = tmp_path_factory.mktemp("demo")
    book, done = directory / "绩效自评.xlsx", directory / "recalc.xlsx"
    new_workbook(example_projects(3), load_profile()).save(book)
    shutil.copy(book, done)
    result = runner.invoke(app, ["recalc", str(done), "--json", "--no-backup"])
    assert result.exit_code in (0, 1), result.output
    return book, done, json.loads(result.stdout)


def values(ws) -> list[list]:
    """Cell values by row, without trailing blanks (Excel's blank "" cells count as nothing)."""
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


# ---- the scripts ---------------------------------------------------------------------------
def actions_of(server, script: str, wb, name: str) -> list[dict]:
    """POST wb's payload to a script as Excel does; the actions that come back (200 required)."""
    response = server.call(script, payload_from_openpyxl(wb, name=name))
    assert response.status_code == 200, response.text
    return response.json()["actions"]


def test_recalc_script_writes_what_xlperf_recalc_writes(server, demo):
    book, done, cli = demo
    wb = openpyxl.load_workbook(book)
    actions = actions_of(server, "recalc", wb, book.name)
    funcs = Counter(a["func"] for a in actions)

    # One new sheet for each sheet `xlperf recalc` generates, and nothing removed from the user's.
    generated = [p["annex_sheet"] for p in cli["projects"]] + [L.SUMMARY_SHEET, L.FINDINGS_SHEET]
    added = {a["args"][1]: a["args"][0] for a in actions if a["func"] == "addSheet"}
    assert sorted(added) == sorted(generated)
    assert funcs["sheetDelete"] == 0

    # The 汇总 sheet's values carry the totals `xlperf recalc --json` reports.
    summary_values = [row for a in actions if a["func"] == "setValues" and a["sheet_position"] == added[L.SUMMARY_SHEET]
                      for row in a["values"]]
    text = lambda v: v.removeprefix("'") if isinstance(v, str) else v  # "'…": Excel keeps the rest as text
    rows = {text(row[0]): [text(v) for v in row] for row in summary_values if row and row[0]}
    for project in cli["projects"]:
        assert Decimal(str(rows[project["name"]][1])) == Decimal(project["total"])
        assert rows[project["name"]][2] == project["grade"]

    # Applied as Excel applies them, every generated sheet equals the one `xlperf recalc` wrote into the file.
    apply_actions(wb, actions)
    expected = openpyxl.load_workbook(done)
    assert wb.sheetnames == expected.sheetnames
    for name in wb.sheetnames:
        assert values(wb[name]) == values(expected[name]), name

    # The user is told the outcome, in Chinese.
    (alert,) = [a for a in actions if a["func"] == "alert"]
    prompt, title, buttons, mode, _callback = alert["args"]
    assert prompt.startswith(f"已计算 {len(cli['projects'])} 个项目")
    for project in cli["projects"]:
        assert f"{project['name']}：{Decimal(project['total']).normalize():f} 分（{project['grade']}）" in prompt
    assert (buttons, mode) == ("ok", "info")


def test_check_script_writes_only_the_findings_sheet(server, demo):
    book, done, cli = demo
    wb = openpyxl.load_workbook(book)
    actions = actions_of(server, "check", wb, book.name)
    assert [a["args"][1] for a in actions if a["func"] == "addSheet"] == [L.FINDINGS_SHEET]
    before = {name: values(wb[name]) for name in wb.sheetnames}
    apply_actions(wb, actions)
    assert {name: values(wb[name]) for name in before} == before  # the user's sheets untouched
    # The same findings, laid out as `xlperf recalc` lays them out.
    assert values(wb[L.FINDINGS_SHEET]) == values(openpyxl.load_workbook(done)[L.FINDINGS_SHEET])
    assert cli["findings"] and all(any(f["message"] in row for row in values(wb[L.FINDINGS_SHEET])) for f in cli["findings"])
    (alert,) = [a for a in actions if a["func"] == "alert"]
    assert alert["args"][0].startswith(f"已检查 {len(cli['projects'])} 个项目")


def test_a_workbook_without_input_sheets_gets_a_chinese_alert_and_no_changes(server):
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active["A1"] = "随便写的表"
    actions = actions_of(server, "recalc", wb, "其他.xlsx")
    assert [a["func"] for a in actions] == ["alert"]
    prompt, _title, _buttons, mode, _ = actions[0]["args"]
    assert mode == "critical" and re.search(r"[\u4e00-\u9fff]", prompt) and "Traceback" not in prompt


def test_the_server_lists_the_five_scripts(server):
    meta = server.get("/xlwings/custom-scripts-meta").json()
    assert sorted(m["function_name"] for m in meta) == sorted(a.function for a in ACTIONS)
    assert all(not m["include"] and not m["exclude"] for m in meta)  # the whole workbook is needed


def test_script_calls_are_logged_in_chinese(server, demo):
    book, _, _ = demo
    server.call("check", payload_from_openpyxl(openpyxl.load_workbook(book), name="日志测试.xlsx"))
    deadline = time.monotonic() + 5
    while "检查“日志测试.xlsx”" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.output()
    assert "检查“日志测试.xlsx”：3 个项目" in log


# ---- the manifest, ribbon.js and what they point to ------------------------------------------
def manifest(server):
    response = server.get("/manifest.xml")
    assert response.status_code == 200
    return ElementTree.fromstring(response.content)


def buttons(root) -> dict[str, str]:
    """FunctionName -> button label, for every ribbon button."""
    strings = {s.get("id"): s.get("DefaultValue") for s in root.iterfind(".//bt:ShortStrings/bt:String", NS)}
    out = {}
    for control in root.iterfind(".//v:CustomTab//v:Control", NS):
        action = control.find("v:Action", NS)
        assert action.get(XSI_TYPE) == "ExecuteFunction"
        out[action.findtext("v:FunctionName", namespaces=NS).strip()] = strings[control.find("v:Label", NS).get("resid")]
    return out


def test_manifest_parses_and_describes_the_chinese_ribbon(server):
    root = manifest(server)
    assert root.findtext("o:Id", namespaces=NS) == MANIFEST_IDS["prod"]
    assert root.findtext("o:DefaultLocale", namespaces=NS) == "zh-CN"
    tab = root.find(".//v:CustomTab", NS)
    strings = {s.get("id"): s.get("DefaultValue") for s in root.iterfind(".//bt:String", NS)}
    assert strings[tab.find("v:Label", NS).get("resid")] == "绩效自评"
    assert buttons(root) == {f"xlperf-{a.id}": a.label for a in ACTIONS}

    # Every resource a control names exists, and every URL is this server's.
    defined = {e.get("id") for e in root.iterfind(".//v:Resources/*/*", NS)}
    used = {e.get("resid") for e in root.iter() if e.get("resid")}
    assert used <= defined
    urls = [e.get("DefaultValue") for e in root.iter() if (e.get("DefaultValue") or "").startswith("http")]
    urls += [e.text for e in root.iterfind(".//o:AppDomain", NS)]
    assert urls and all(u.startswith(server.base_url) for u in urls), urls

    # The icons are served, as PNGs of the size the manifest says.
    sizes = {i.get("resid"): int(i.get("size")) for i in root.iterfind(".//v:Icon/bt:Image", NS)}
    for image in root.iterfind(".//v:Resources/bt:Images/bt:Image", NS):
        response = server.get(image.get("DefaultValue").removeprefix(server.base_url))
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert Image.open(BytesIO(response.content)).size == (sizes[image.get("id")],) * 2
    for tag in ("o:IconUrl", "o:HighResolutionIconUrl"):
        response = server.get(root.find(tag, NS).get("DefaultValue").removeprefix(server.base_url))
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"

    # For sideloading, the same manifest as a file named after the add-in.
    download = server.get("/manifest/download")
    assert download.headers["content-disposition"] == "attachment; filename=xlperf-prod.xml"
    assert download.content == server.get("/manifest.xml").content

    # The function file (the shared runtime's page) loads xlwings' client and our ribbon.js.
    page_url = root.find(".//v:FunctionFile", NS).get("resid")
    page = next(u.get("DefaultValue") for u in root.iterfind(".//bt:Url", NS) if u.get("id") == page_url)
    html = server.get(page.removeprefix(server.base_url)).text
    assert "/static/js/ribbon.js" in html and "/static/js/custom-scripts/index.js" in html


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v").split(".")[0])
    if major < 18:
        pytest.skip(f"node --test needs Node 18 or later (found {major})")
    return node


def test_every_ribbon_button_runs_an_existing_script(server, tmp_path):
    node = node_or_skip()
    served = server.get("/static/js/ribbon.js")
    assert served.status_code == 200
    assert served.content == (PROJECT_DIR / "static" / "js" / "ribbon.js").read_bytes()  # ours, not xlwings' sample
    path = tmp_path / "ribbon.js"
    path.write_bytes(served.content)
    run = subprocess.run([node, str(JS_TESTS / "ribbon_stub.mjs"), str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    associated = json.loads(run.stdout)  # what clicking each associated function id runs
    scripts = {m["function_name"] for m in server.get("/xlwings/custom-scripts-meta").json()}
    assert set(associated) == set(buttons(manifest(server)))
    assert set(associated.values()) <= scripts
    assert associated == {f"xlperf-{a.id}": a.function for a in ACTIONS}


def test_ribbon_js_node_tests():
    node = node_or_skip()
    run = subprocess.run([node, "--test", str(JS_TESTS / "ribbon.test.mjs")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^# fail 0$", run.stdout, re.M) and not re.search(r"^# pass 0$", run.stdout, re.M), run.stdout


def test_alerts_have_chinese_buttons(server):
    response = server.get("/xlwings/alert", params={"prompt": "已计算 1 个项目", "title": "xlperf", "buttons": "ok_cancel",
                                                        "mode": "info", "callback": ""})
    assert response.status_code == 200
    assert ">确定</button>" in response.text and ">取消</button>" in response.text
    assert 'id="ok"' in response.text and 'id="cancel"' in response.text  # what dialog.js reports back


def test_the_manifest_points_to_the_https_address(server):
    root = manifest(server)
    port = server.base_url.rsplit(":", 1)[1]
    urls = [e.get("DefaultValue") for e in root.iter() if (e.get("DefaultValue") or "").startswith("http")]
    assert urls and all(u.startswith(f"https://127.0.0.1:{port}/") for u in urls)
    assert root.findtext(".//o:AppDomain", namespaces=NS) == f"https://127.0.0.1:{port}"
    started = server.output()
    assert f"xlperf 服务已启动：https://127.0.0.1:{port}/manifest.xml" in started and "没有使用 HTTPS" not in started


# ---- the command's own errors: Chinese, exit 2, no traceback ---------------------------------
def serve(*args: str):
    return runner.invoke(app, ["serve", *args])


def assert_refused(result, *phrases: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


def test_serve_needs_a_license_key(monkeypatch):
    monkeypatch.delenv("XLWINGS_LICENSE_KEY", raising=False)
    assert_refused(serve(), "XLWINGS_LICENSE_KEY=noncommercial", "PolyForm Noncommercial 1.0.0", "政府", "PRO")


def test_serve_says_how_to_install_xlwings_server(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xlwings_server" else real(name, *a))
    assert_refused(serve(), "pip install 'xlperf[server]'")


def test_serve_refuses_a_busy_port_half_a_certificate_and_an_unknown_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert_refused(serve("--port", str(busy.getsockname()[1])), "已被占用", "--port")
    _, cert, key = make_certificates(tmp_path)
    assert_refused(serve("--ssl-certfile", str(cert)), "--ssl-keyfile")
    assert_refused(serve("--ssl-keyfile", str(tmp_path / "无.key"), "--ssl-certfile", str(cert)), "找不到私钥文件")
    assert_refused(serve("--ssl-keyfile", str(cert), "--ssl-certfile", str(cert)), "无法加载证书")
    assert_refused(serve("--profile", "hainan"), "未知的评分规则配置")


def test_serve_rejects_an_invalid_license_key(tmp_path):
    env = {**server_env(), "XLWINGS_LICENSE_KEY": "not-a-key"}
    run = subprocess.run([sys.executable, "-m", "xlperf", "serve", "--port", str(free_port())], capture_output=True,
                         text=True, env=env, timeout=60, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert "许可证密钥无效" in run.stderr and "noncommercial" in run.stderr and "Traceback" not in run.stderr
