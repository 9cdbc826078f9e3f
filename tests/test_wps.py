"""The WPS 加载项 (xlperf/wps/): generated files, `xlperf wps install/remove`, and the add-in's page in a
real headless Chromium against a fake ET Application (tests/js/fake_et.js), talking over real HTTP to
`xlperf serve --token-file` started as a separate process on 127.0.0.1."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import ElementTree
from typer.testing import CliRunner

from xlperf.actions import ACTIONS
from xlperf.cli import app
from xlperf.wps import ADDIN_DIR, CUSTOMUI_NS, generate

from .servers import stop

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
OTHER = ('<jsplugin url="http://127.0.0.1:3889/" type="wps" enable="enable_dev" install="null" '
         'version="0.0.2" name="wps-zotero"/>')


def test_committed_files_equal_a_fresh_generation():
    for name, text in generate().items():
        assert (ADDIN_DIR / name).read_text(encoding="utf-8") == text, f"python -m xlperf.wps ({name})"


def test_ribbon_lists_the_five_actions_and_starts_with_customui():
    text = (ADDIN_DIR / "ribbon.xml").read_text(encoding="utf-8")
    assert text.startswith("<customUI")
    buttons = ElementTree.fromstring(text).iter(f"{{{CUSTOMUI_NS}}}button")
    assert [(b.get("id"), b.get("label"), b.get("onAction")) for b in buttons] == [
        (a.id, a.label, "OnAction") for a in ACTIONS]
    main = (ADDIN_DIR / "main.js").read_text(encoding="utf-8")
    for callback in ("function OnAddinLoad(", "function OnAction(", "function OnGetEnabled("):
        assert callback in main
    assert "async function" not in main and "async (" not in main


# ---- the installer ------------------------------------------------------------------------------
def install(tmp_path, *args, start: bool = False):
    """`xlperf wps ARGS` in a fake home; install does not start the local service unless start."""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path / "home")}
    extra = ["--no-start"] if args[:1] == ("install",) and not start else []
    return runner.invoke(app, ["wps", *args, *extra, "--jsaddons", str(tmp_path / "jsaddons")], env=env)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def others(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    js = tmp_path / "jsaddons"
    js.mkdir()
    (js / "publish.xml").write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<jsplugins>\n{OTHER}\n</jsplugins>\n', "utf-8")
    plain = OTHER.replace(' enable="enable_dev" install="null"', "")
    (js / "jsplugins.xml").write_text(f"<jsplugins>\n{plain}\n</jsplugins>\n", "utf-8")
    return js


def entries(path: Path) -> list[dict]:
    return [dict(e.attrib) for e in ElementTree.parse(str(path)).getroot()]


def test_install_merges_our_entry_keeps_others_and_twice_changes_nothing(tmp_path, others):
    result = install(tmp_path, "install", "--port", "8911")
    assert result.exit_code == 0, result.output
    publish = entries(others / "publish.xml")
    assert publish[0]["name"] == "wps-zotero" and publish[0]["url"] == "http://127.0.0.1:3889/"
    assert [e["name"] for e in publish] == ["wps-zotero", "xlperf"] and publish[1]["type"] == "et"
    assert [e["name"] for e in entries(others / "jsplugins.xml")] == ["wps-zotero", "xlperf"]
    (folder,) = others.glob("xlperf_*")
    token = (folder / "token.txt").read_text().strip()
    assert len(token) >= 32 and f'"token": "{token}"' in (folder / "config.js").read_text()
    assert '"port": 8911' in (folder / "config.js").read_text()
    desktop = (tmp_path / "config" / "autostart" / "xlperf-wps.desktop").read_text()
    assert "serve" in desktop and "--port 8911" in desktop and str(folder / "token.txt") in desktop
    before = snapshot(tmp_path)
    again = install(tmp_path, "install", "--port", "8911")
    assert again.exit_code == 0 and "未作改动" in again.output
    assert snapshot(tmp_path) == before


def test_remove_leaves_other_add_ins(tmp_path, others):
    assert install(tmp_path, "install").exit_code == 0
    result = install(tmp_path, "remove")
    assert result.exit_code == 0, result.output
    assert [e["name"] for e in entries(others / "publish.xml")] == ["wps-zotero"]
    assert [e["name"] for e in entries(others / "jsplugins.xml")] == ["wps-zotero"]
    assert not list(others.glob("xlperf_*")) and not (tmp_path / "config" / "autostart" / "xlperf-wps.desktop").exists()
    assert "未作改动" in install(tmp_path, "remove").output


def test_install_refuses_a_broken_publish_xml_and_changes_nothing(tmp_path, others):
    (others / "publish.xml").write_text("<jsplugins><jsplugin name='x'", "utf-8")
    before = (others / "publish.xml").read_bytes()
    result = install(tmp_path, "install")
    assert result.exit_code == 2 and "不是有效的 XML" in result.output and "Traceback" not in result.output
    assert (others / "publish.xml").read_bytes() == before


def test_install_starts_the_local_service_now_and_remove_stops_it(tmp_path, others):
    """After `xlperf wps install` a user restarts WPS and clicks: the service answers already, with the token;
    a second install finds it running; remove stops the process it started."""
    import httpx

    from .test_mail import free_port

    port = free_port()
    result = install(tmp_path, "install", "--port", str(port), start=True)
    (folder,) = others.glob("xlperf_*")
    pid = int((folder / "serve.pid").read_text())
    try:
        assert result.exit_code == 0 and "已在后台启动本机服务" in result.output, result.output
        token = (folder / "token.txt").read_text().strip()
        url = f"http://127.0.0.1:{port}/xlwings/custom-scripts-call/recalc"
        assert httpx.post(url, json={}, timeout=30).status_code == 401  # no token: refused
        assert httpx.post(url, json={}, headers={"X-Xlperf-Token": token}, timeout=30).status_code != 401
        again = install(tmp_path, "install", "--port", str(port), start=True)
        assert again.exit_code == 0 and "已在运行" in again.output
        assert install(tmp_path, "remove").exit_code == 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and \
                b"Z" not in Path(f"/proc/{pid}/stat").read_bytes().split(b")")[-1][:3]:
            time.sleep(0.2)
        assert not Path(f"/proc/{pid}").exists() or b"Z" in Path(f"/proc/{pid}/stat").read_bytes().split(b")")[-1][:3]
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ---- the page in Chromium, against `xlperf serve` ----------------------------------------------------
CHROMIUM = "/usr/bin/chromium"


@contextlib.contextmanager
def serve_wps(directory: Path, *options: str):
    """`xlperf serve --token-file` over plain HTTP on 127.0.0.1 (as `xlperf wps install` starts it), in a subprocess."""
    pytest.importorskip("xlwings_server")
    import time

    import httpx

    from .test_mail import free_port
    from .test_server import server_env

    token = directory / "token.txt"
    token.write_text("t" * 40 + "\n")
    port = free_port()
    log = directory / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "xlperf", "serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--token-file", str(token), *options], stdout=out, stderr=subprocess.STDOUT,
                                   env=server_env(), cwd=directory)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/xlwings/custom-scripts-meta").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield port, "t" * 40
    finally:
        stop(process)


@pytest.fixture(scope="module")
def wps_server(tmp_path_factory):
    with serve_wps(tmp_path_factory.mktemp("wps")) as running:
        yield running


def test_script_calls_need_the_token(wps_server):
    import httpx

    from .remote_book import payload_from_openpyxl

    port, token = wps_server
    wb = openpyxl.Workbook()
    url = f"http://127.0.0.1:{port}/xlwings/custom-scripts-call/recalc"
    for headers in ({}, {"X-Xlperf-Token": "wrong"}):
        response = httpx.post(url, json=payload_from_openpyxl(wb), headers=headers)
        assert response.status_code == 401 and "令牌" in response.json()["detail"]
    assert httpx.post(url, json=payload_from_openpyxl(wb), headers={"X-Xlperf-Token": token}).status_code == 200


@pytest.fixture(scope="module")
def seeds_book(tmp_path_factory):
    from xlperf.profiles import load_profile
    from xlperf.template.build import new_workbook
    from xlperf.template.seeds import SEEDS

    directory = tmp_path_factory.mktemp("seeds")
    book, done = directory / "绩效自评.xlsx", directory / "recalc.xlsx"
    new_workbook(list(SEEDS), load_profile()).save(book)
    shutil.copy(book, done)
    result = runner.invoke(app, ["recalc", str(done), "--json", "--no-backup"])
    assert result.exit_code in (0, 1), result.output
    return book, done, json.loads(result.stdout)


def run_page(tmp_path, port, token, payload, button, *, path="", saved=True, wait=True):
    """Click button in the add-in's page (headless Chromium, fake ET holding payload's book); (the fake's state,
    the dialogs shown (alerts and confirms, all answered OK), the script calls the page made)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium (/usr/bin/chromium) is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    import xlwings

    page_dir = tmp_path / "addin"
    shutil.copytree(ADDIN_DIR, page_dir)
    config = {"port": port, "token": token, "version": xlwings.__version__}
    (page_dir / "config.js").write_text(f"var XLPERF_CONFIG = {json.dumps(config)};\n", "utf-8")
    html = (page_dir / "index.html").read_text("utf-8")
    (page_dir / "index.html").write_text(html.replace('<script src="config.js">', '<script src="fake_et.js"></script>\n  <script src="config.js">'), "utf-8")
    shutil.copy(ROOT / "tests" / "js" / "fake_et.js", page_dir / "fake_et.js")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            alerts, errors, calls = [], [], []
            page.on("dialog", lambda d: (alerts.append(d.message), d.accept()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: calls.append(r.url) if "/custom-scripts-call/" in r.url else None)
            page.goto((page_dir / "index.html").as_uri())
            page.evaluate("book => { FakeET.load(book); OnAddinLoad({}); }",
                          {"name": payload["book"]["name"], "sheets": payload["sheets"], "names": payload["names"],
                           "path": path, "saved": saved})
            assert page.evaluate("id => OnAction({Id: id})", button) is True
            if wait:
                page.wait_for_function("() => !xlperfBusy", timeout=120000)  # the answer applied, or an alert
            else:
                page.wait_for_timeout(500)
                assert page.evaluate("() => xlperfBusy") is False
            state = page.evaluate("() => FakeET.dump()")
        finally:
            browser.close()
    assert not errors, errors
    return state, alerts, calls


def to_openpyxl(state, user=()):
    """The fake's cells as Excel keeps values written with Value2 (typing rules); the user's own sheets as loaded."""
    from .remote_book import _set_value

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet in state["sheets"]:
        ws = wb.create_sheet(sheet["name"])
        for r, c, v, fmt in sheet["cells"]:
            cell = ws.cell(r, c)
            if fmt:
                cell.number_format = fmt
            if sheet["name"] in user:
                cell.value = v
            else:
                _set_value(cell, v)
    return wb


def test_recalc_button_in_chromium_writes_what_xlperf_recalc_writes(wps_server, seeds_book, tmp_path):
    from .remote_book import payload_from_openpyxl
    from .test_server import values

    port, token = wps_server
    book, done, cli = seeds_book
    payload = payload_from_openpyxl(openpyxl.load_workbook(book), name=book.name)
    state, alerts, _ = run_page(tmp_path, port, token, payload, "recalc")
    assert state["calculated"] == 1
    user = {s["name"] for s in payload["sheets"]}
    wb, expected = to_openpyxl(state, user), openpyxl.load_workbook(done)
    assert wb.sheetnames == expected.sheetnames
    for name in wb.sheetnames:
        if name not in user:
            assert values(wb[name]) == values(expected[name]), name
    totals = [p["total"] for p in cli["projects"]]
    assert "89.50" in totals and "99.78" in totals  # the two seeds (shared/seeds), as `xlperf recalc` scores them
    (alert,) = alerts
    assert alert.startswith(f"已计算 {len(cli['projects'])} 个项目") and "89.5 分" in alert and "99.78 分" in alert
    assert state["opened"] == []  # nothing to download, nothing opened
    assert "图表" in alert  # the chart WPS did not get is named, not silently dropped


def test_check_button_in_chromium_writes_only_the_findings_sheet(wps_server, seeds_book, tmp_path):
    from xlperf import layout as L

    from .remote_book import payload_from_openpyxl
    from .test_server import values

    port, token = wps_server
    book, done, _ = seeds_book
    payload = payload_from_openpyxl(openpyxl.load_workbook(book), name=book.name)
    state, alerts, _ = run_page(tmp_path, port, token, payload, "check")
    wb = to_openpyxl(state, {s["name"] for s in payload["sheets"]})
    assert wb.sheetnames == [s["name"] for s in payload["sheets"]] + [L.FINDINGS_SHEET]
    assert values(wb[L.FINDINGS_SHEET]) == values(openpyxl.load_workbook(done)[L.FINDINGS_SHEET])
    assert alerts and alerts[0].startswith("已检查")


def test_saved_file_buttons_ask_to_save_first(wps_server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium (/usr/bin/chromium) is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        alerts = []
        page.on("dialog", lambda d: (alerts.append(d.message), d.accept()))
        page_dir = tmp_path / "addin"
        shutil.copytree(ADDIN_DIR, page_dir)
        shutil.copy(ROOT / "tests" / "js" / "fake_et.js", page_dir / "fake_et.js")
        page.goto((page_dir / "index.html").as_uri())
        page.add_script_tag(path=str(page_dir / "fake_et.js"))
        page.evaluate("() => { FakeET.load({name: '新建.xlsx', sheets: [{name: 'Sheet1', values: [['x']]}], names: []}); }")
        for action in ACTIONS:
            if action.saved_file:
                page.evaluate("id => OnAction({Id: id})", action.id)
        browser.close()
    assert len(alerts) == 3 and all("请先保存工作簿" in a for a in alerts)


# ---- 导出, 生成报告, 发送邮件: the saved book, sent as Office.js sends it; the files come back as a download ----
DOWNLOAD = re.compile(r"（下载）(http://127\.0\.0\.1:(\d+)/xlperf/downloads/[A-Za-z0-9_-]{24,}/(\S+))")


def fetch_download(alerts, port, opened, suffix=".zip") -> bytes:
    """The whole address in the alert, the same address opened in the browser (ShellExecute); the file's bytes."""
    import httpx

    (match,) = [m for a in alerts for m in DOWNLOAD.finditer(a)]
    assert int(match[2]) == port and match[3].endswith(suffix)
    assert opened == [httpx.URL(match[1]).__str__()]  # percent-encoded as the browser gets it
    assert any("是否在浏览器中打开下载链接" in a for a in alerts)
    response = httpx.get(opened[0])
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    return response.content


@pytest.mark.parametrize("button", ["export", "report"])
def test_export_and_report_buttons_give_the_files_of_the_saved_book(wps_server, seeds_book, tmp_path, button):
    from .remote_book import payload_from_openpyxl

    port, token = wps_server
    book, _, cli = seeds_book
    saved = tmp_path / "用户"
    saved.mkdir()
    shutil.copy(book, saved / book.name)
    before = snapshot(saved)
    payload = payload_from_openpyxl(openpyxl.load_workbook(book), name=book.name)
    state, alerts, calls = run_page(tmp_path, port, token, payload, button, path=str(saved))
    assert len(calls) == 1 and calls[0].endswith("/" + ("export" if button == "export" else "word_report"))
    assert snapshot(saved) == before  # nothing written beside the user's file
    archive = zipfile.ZipFile(io.BytesIO(fetch_download(alerts, port, state["opened"])))
    names = [Path(n).name for n in archive.namelist() if not n.endswith("/")]
    if button == "export":
        assert alerts[0].startswith("已按 Excel 发送的工作簿内容导出 ")
        result = runner.invoke(app, ["export", str(saved / book.name)])  # what the command line makes of the file
        assert result.exit_code in (0, 1), result.output
        expected = sorted(p.name for p in (saved / f"{book.stem}_导出").glob("*.xlsx"))
        assert expected and sorted(n for n in names if n.endswith(".xlsx")) == expected
    else:
        assert "份自评报告到：（下载）http://127.0.0.1:" in alerts[0]
        assert len([n for n in names if n.endswith(".docx")]) == len(cli["projects"])
    # The open book is not changed by either: the same sheets and cells as loaded.
    assert [s["name"] for s in state["sheets"]] == [s["name"] for s in payload["sheets"]]


def test_mail_button_sends_the_saved_book_with_the_servers_mail_settings(tmp_path):
    from aiosmtpd.controller import Controller

    from xlperf.profiles import load_profile
    from xlperf.template.build import new_workbook
    from xlperf.template.examples import example_projects

    from .remote_book import payload_from_openpyxl
    from .test_mail import Recorder, free_port

    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = tmp_path / "邮件设置.toml"
        config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "none"\n'
                          'from = "绩效自评工作组 <jxpj@example.cn>"\n', encoding="utf-8")
        served = tmp_path / "serve"
        served.mkdir()
        payload = payload_from_openpyxl(new_workbook(example_projects(3), load_profile()), name="绩效自评.xlsx")
        with serve_wps(served, "--mail-config", str(config)) as (port, token):
            state, alerts, calls = run_page(tmp_path, port, token, payload, "mail", path=str(tmp_path))
            log = fetch_download(alerts, port, state["opened"], ".csv").decode("utf-8-sig")  # the send log
    finally:
        controller.stop()
    assert len(calls) == 1 and calls[0].endswith("/mail")
    assert alerts[0].startswith("已发送 "), alerts
    assert handler.messages and all(m["mail_from"] == "jxpj@example.cn" for m in handler.messages)
    assert all(m["rcpt_tos"][0] in log for m in handler.messages)


@pytest.mark.parametrize("button", [a.id for a in ACTIONS if a.saved_file])
def test_unsaved_changes_ask_to_save_first_and_send_nothing(wps_server, tmp_path, button):
    from .remote_book import payload_from_openpyxl

    port, token = wps_server
    payload = payload_from_openpyxl(openpyxl.Workbook(), name="绩效自评.xlsx")
    state, alerts, calls = run_page(tmp_path, port, token, payload, button, path=str(tmp_path), saved=False, wait=False)
    assert calls == [] and state["calculated"] == 0 and state["opened"] == []
    (alert,) = alerts
    assert "请先保存工作簿" in alert


def test_the_server_never_writes_where_a_request_points(wps_server, tmp_path):
    """A request naming a path (book.name/full_name): the server works in its own download folder only."""
    import httpx

    from xlperf.profiles import load_profile
    from xlperf.template.build import new_workbook
    from xlperf.template.examples import example_projects

    from .remote_book import payload_from_openpyxl

    port, token = wps_server
    target = tmp_path / "目标"
    target.mkdir()
    payload = payload_from_openpyxl(new_workbook(example_projects(1), load_profile()),
                                    name=str(target / ".." / "目标" / "绩效自评.xlsx"))
    payload["book"]["full_name"] = str(target / "绩效自评.xlsx")
    response = httpx.post(f"http://127.0.0.1:{port}/xlwings/custom-scripts-call/export", json=payload,
                          headers={"X-Xlperf-Token": token}, timeout=120)
    assert response.status_code == 200, response.text
    (prompt,) = [a["args"][0] for a in response.json()["actions"] if a["func"] == "alert"]
    assert "（下载）/xlperf/downloads/" in prompt
    assert list(target.iterdir()) == [] and not list(tmp_path.glob("*.xlsx"))


# ---- 检查 on a book with no input sheet and no 附件1 table ------------------------------------------------
def test_check_button_on_a_book_without_input_sheets_alerts_in_chinese(wps_server, tmp_path):
    from .remote_book import payload_from_openpyxl

    port, token = wps_server
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active["A1"] = "会议纪要"
    payload = payload_from_openpyxl(wb, name="别的工作簿.xlsx")
    state, alerts, calls = run_page(tmp_path, port, token, payload, "check")
    assert len(calls) == 1
    (alert,) = alerts
    assert "HTTP" not in alert and "xlperf 运行出错" not in alert and "服务出错" not in alert, alert
    assert "校验结果" in alert and re.search(r"[\u4e00-\u9fff]", alert)
