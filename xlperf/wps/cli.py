"""`xlperf wps install` / `xlperf wps remove`: the 绩效自评 add-in in the user's WPS jsaddons folder.

install: copies the add-in into jsaddons/xlperf_<version>/, writes config.js (port, token, xlwings version)
and the token file the service reads, merges our <jsplugin>/<website> entries into publish.xml,
authwebsite.xml (and jsplugins.xml where present) without touching other add-ins' entries, and writes the
autostart entry that runs `xlperf serve --port P --token-file F` at login (XDG .desktop on Linux, a .cmd
in the Startup folder on Windows). Twice changes nothing: the token is kept. remove undoes exactly that.
XML files are replaced atomically (writers.save.replace_atomically, with the .bak convention).
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from .. import __version__
from . import ADDIN_DIR, ADDIN_NAME, GENERATED

EXIT_USAGE = 2
DEFAULT_PORT = 8765
SHIPPED = ("ribbon.xml", "index.html", "main.js", *[g for g in GENERATED if g != "ribbon.xml"])
TOKEN_FILE = "token.txt"
AUTOSTART_NAME = "xlperf-wps"

wps_app = typer.Typer(help="WPS 表格的“绩效自评”加载项：安装、卸载。", no_args_is_help=True, add_completion=False)


def _fail(message: str) -> None:
    from ..cli import _fail as fail  # the house error format (imported late: xlperf.cli imports this module)

    fail(message, EXIT_USAGE)


def default_jsaddons() -> Path:
    if os.name == "nt":
        appdata = os.environ.get("APPDATA")
        if not appdata:
            _fail("找不到 APPDATA 文件夹：请用 --jsaddons 指定 WPS 的 jsaddons 文件夹")
        return Path(appdata) / "kingsoft" / "wps" / "jsaddons"
    return Path.home() / ".local" / "share" / "Kingsoft" / "wps" / "jsaddons"


def autostart_path() -> Path:
    if os.name == "nt":
        return (Path(os.environ.get("APPDATA", Path.home())) / "Microsoft" / "Windows" / "Start Menu" / "Programs"
                / "Startup" / f"{AUTOSTART_NAME}.cmd")
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / f"{AUTOSTART_NAME}.desktop"


def _folder(jsaddons: Path) -> Path:
    return jsaddons / f"{ADDIN_NAME}_{__version__}"


def _ours(jsaddons: Path) -> list[Path]:
    return sorted(p for p in jsaddons.glob(f"{ADDIN_NAME}_*") if p.is_dir()) if jsaddons.is_dir() else []


# ---- the XML lists -----------------------------------------------------------------------------
def _entries(port: int) -> dict[str, tuple[str, str, dict]]:
    """file -> (root tag, entry tag, our entry's attributes)."""
    url = f"http://127.0.0.1:{port}/"
    return {
        "publish.xml": ("jsplugins", "jsplugin", {"name": ADDIN_NAME, "type": "et", "url": url, "version": __version__,
                                                  "enable": "enable_dev", "install": "null"}),
        "jsplugins.xml": ("jsplugins", "jsplugin", {"name": ADDIN_NAME, "type": "et", "url": url,
                                                    "version": __version__}),
        "authwebsite.xml": ("websites", "website", {"origin": "null", "name": ADDIN_NAME, "status": "enable"}),
    }


def _parse(path: Path, root_tag: str):
    from defusedxml import ElementTree
    from lxml import etree

    if not path.exists():
        return etree.Element(root_tag)
    try:
        ElementTree.parse(str(path))  # refuses entity bombs and external entities before lxml reads it
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    except Exception as exc:  # ParseError and friends: a broken file of WPS' is not ours to rewrite
        _fail(f"无法读取 {path}（{exc}）：文件不是有效的 XML，未作任何改动。请检查或删除该文件后重试")
    root = tree.getroot()
    if root.tag != root_tag:
        _fail(f"{path} 的根元素是 <{root.tag}>，不是 <{root_tag}>：不是 WPS 的加载项列表，未作任何改动")
    return root


def _write_xml(path: Path, root) -> bool:
    """Write root to path when its text differs (atomically, keeping a .bak). True when written."""
    from lxml import etree

    from ..safety import WriteRefused
    from ..writers.save import replace_atomically

    if len(root) and root.text is None:
        root.text = "\n  "
    for element in root:
        element.tail = "\n  "
    if len(root):
        root[-1].tail = "\n"
    text = etree.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
    if path.exists() and path.read_bytes() == text:
        return False
    try:
        replace_atomically(path, lambda fh: fh.write(text), lambda target: None)
    except WriteRefused as exc:
        _fail(str(exc))
    return True


def _merge(path: Path, root_tag: str, tag: str, attrs: Optional[dict]) -> bool:
    """Our entry (by name) replaced with attrs, or removed when attrs is None; others left as they are."""
    root = _parse(path, root_tag)
    ours = [e for e in root if e.tag == tag and e.get("name") == ADDIN_NAME]
    if attrs is not None and len(ours) == 1 and dict(ours[0].attrib) == attrs:
        return False
    if attrs is None and not ours:
        return False
    for element in ours:
        root.remove(element)
    if attrs is not None:
        element = root.makeelement(tag, attrs)
        root.append(element)
    return _write_xml(path, root)


# ---- the add-in folder and the service ------------------------------------------------------------
def _existing_token(jsaddons: Path) -> Optional[str]:
    for folder in _ours(jsaddons):
        try:
            token = (folder / TOKEN_FILE).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if len(token) >= 16:
            return token
    return None


def _config_js(port: int, token: str) -> str:
    import xlwings

    config = {"port": port, "token": token, "version": xlwings.__version__}
    return ("// Written by `xlperf wps install` (port and per-install token of the local xlperf service).\n"
            f"var XLPERF_CONFIG = {json.dumps(config)};\n")


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8", errors="replace") == text:
        return False
    tmp = path.with_name(f".{path.name}.xlperf-tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)
    return True


def _serve_command(port: int, token_file: Path) -> list[str]:
    return [sys.executable, "-m", "xlperf", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--token-file", str(token_file)]


def _autostart_text(port: int, token_file: Path) -> str:
    command = _serve_command(port, token_file)
    if os.name == "nt":
        quoted = " ".join(f'"{part}"' for part in command)
        return ("@echo off\r\nrem 绩效自评（xlperf）WPS 加载项的本机服务：xlperf wps install 写入，xlperf wps remove 删除\r\n"
                f"set XLWINGS_LICENSE_KEY=noncommercial\r\nstart \"xlperf\" /min {quoted}\r\n")
    exec_line = " ".join(shlex.quote(part) for part in ["env", "XLWINGS_LICENSE_KEY=noncommercial", *command])
    return ("[Desktop Entry]\nType=Application\nName=xlperf 绩效自评服务\n"
            "Comment=WPS 表格“绩效自评”加载项的本机服务（xlperf wps install 写入，xlperf wps remove 删除）\n"
            f"Exec={exec_line}\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n")


SERVICE_PID = "serve.pid"  # in the add-in's folder: the local service xlperf wps install started
SERVICE_LOG = "serve.log"
START_SECONDS = 30.0


def _answers(port: int) -> bool:
    """Something listens on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _start_service(port: int, token_file: Path, folder: Path) -> str:
    """Start the local service now, detached from this command (so that restarting WPS is all a user does);
    its pid goes to folder/serve.pid, its output to folder/serve.log. Returns a Chinese line for the console."""
    if _answers(port):
        return f"本机服务（127.0.0.1:{port}）已在运行。"
    env = {**os.environ}
    env.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    detached = ({"creationflags": subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP}
                if os.name == "nt" else {"start_new_session": True})
    with open(folder / SERVICE_LOG, "ab") as log:
        process = subprocess.Popen(_serve_command(port, token_file), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=folder, env=env, **detached)
    (folder / SERVICE_PID).write_text(f"{process.pid}\n", encoding="ascii")
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"本机服务没有启动成功（退出码 {process.returncode}），原因见 {folder / SERVICE_LOG}"
        if _answers(port):
            return f"已在后台启动本机服务（127.0.0.1:{port}）。"
        time.sleep(0.2)
    return f"本机服务正在启动（127.0.0.1:{port}）；若按钮提示无法连接，请查看 {folder / SERVICE_LOG}"


def _stop_service(folder: Path) -> bool:
    """Stop the local service install started (its pid file, and only while that process is still xlperf serve)."""
    try:
        pid = int((folder / SERVICE_PID).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        if cmdline.exists() and b"serve" not in cmdline.read_bytes():
            return False  # the number now belongs to another program
        if os.name == "nt":
            subprocess.run(["taskkill", "/PID", str(pid), "/T", "/F"], capture_output=True, check=False)
        else:
            import signal

            os.kill(pid, signal.SIGTERM)
        return True
    except (OSError, ProcessLookupError):
        return False


def _jsaddons_of(jsaddons: Optional[Path]) -> Path:
    folder = jsaddons if jsaddons is not None else default_jsaddons()
    if folder.exists() and not folder.is_dir():
        _fail(f"{folder} 不是文件夹：请用 --jsaddons 指定 WPS 的 jsaddons 文件夹")
    return folder


JSADDONS_HELP = "WPS 的 jsaddons 文件夹（默认：Linux ~/.local/share/Kingsoft/wps/jsaddons，Windows %APPDATA%\\kingsoft\\wps\\jsaddons）"


@wps_app.command("install")
def install(
    jsaddons: Optional[Path] = typer.Option(None, "--jsaddons", help=JSADDONS_HELP),
    port: int = typer.Option(DEFAULT_PORT, "--port", min=1024, max=65535, help=f"本机服务的端口（默认 {DEFAULT_PORT}）"),
    autostart: bool = typer.Option(True, "--autostart/--no-autostart", help="登录时自动启动本机服务（默认是）"),
    start: bool = typer.Option(True, "--start/--no-start", help="现在就在后台启动本机服务（默认是）"),
) -> None:
    """把“绩效自评”加载项安装到 WPS 表格（重新启动 WPS 后出现“绩效自评”选项卡）。"""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and jsaddons is None:
        _fail("请用平时使用 WPS 的用户运行 xlperf wps install，不要用 root 或 sudo：加载项按用户安装")
    folder_root = _jsaddons_of(jsaddons)
    token = _existing_token(folder_root) or secrets.token_urlsafe(32)
    target = _folder(folder_root)
    changed = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for old in _ours(folder_root):
            if old != target:
                shutil.rmtree(old)
                changed.append(f"删除旧版本 {old.name}")
        for name in SHIPPED:
            if _write_if_changed(target / name, (ADDIN_DIR / name).read_text(encoding="utf-8")):
                changed.append(name)
        if _write_if_changed(target / "config.js", _config_js(port, token)):
            changed.append("config.js")
        token_file = target / TOKEN_FILE
        if _write_if_changed(token_file, token + "\n"):
            changed.append(TOKEN_FILE)
        if os.name != "nt":
            os.chmod(token_file, 0o600)
        for name, (root_tag, tag, attrs) in _entries(port).items():
            path = folder_root / name
            if name == "jsplugins.xml" and not path.exists():
                continue  # only builds that read it have it
            if _merge(path, root_tag, tag, attrs):
                changed.append(name)
        if autostart:
            entry = autostart_path()
            entry.parent.mkdir(parents=True, exist_ok=True)
            if _write_if_changed(entry, _autostart_text(port, token_file)):
                changed.append(str(entry))
    except OSError as exc:
        from ..safety import os_reason

        _fail(f"无法写入 {getattr(exc, 'filename', None) or folder_root}（{os_reason(exc)}）：请检查文件夹权限后重试")
    typer.echo(f"已安装 WPS 加载项“绩效自评”：{target}" + ("" if changed else "（已是最新，未作改动）"))
    if start:
        typer.echo(_start_service(port, target / TOKEN_FILE, target))
    else:
        typer.echo("没有启动本机服务：使用前请运行：")
        typer.echo("  " + " ".join(shlex.quote(p) for p in _serve_command(port, target / TOKEN_FILE)))
    if autostart:
        typer.echo(f"本机服务（127.0.0.1:{port}）也将在每次登录时自动启动。")
    typer.echo("请重新启动 WPS 表格，点击“绩效自评”选项卡中的按钮。")


@wps_app.command("remove")
def remove(jsaddons: Optional[Path] = typer.Option(None, "--jsaddons", help=JSADDONS_HELP)) -> None:
    """从 WPS 表格中卸载“绩效自评”加载项（其他加载项不受影响）。"""
    folder_root = _jsaddons_of(jsaddons)
    removed = []
    try:
        for old in _ours(folder_root):
            if _stop_service(old):
                removed.append("本机服务")
            shutil.rmtree(old)
            removed.append(old.name)
        for name, (root_tag, tag, _attrs) in _entries(DEFAULT_PORT).items():
            path = folder_root / name
            if path.exists() and _merge(path, root_tag, tag, None):
                removed.append(name)
        entry = autostart_path()
        if entry.exists():
            entry.unlink()
            removed.append(str(entry))
    except OSError as exc:
        from ..safety import os_reason

        _fail(f"无法删除 {getattr(exc, 'filename', None) or folder_root}（{os_reason(exc)}）：请检查文件夹权限后重试")
    typer.echo("已卸载 WPS 加载项“绩效自评”。" if removed else "没有找到已安装的“绩效自评”加载项，未作改动。")
