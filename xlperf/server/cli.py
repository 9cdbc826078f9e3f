"""`xlperf serve`: the 绩效自评 ribbon for Excel on the web and Mac, served by xlwings Server.

xlwings Server reads its configuration from XLWINGS_* environment variables when it is
imported, so they are set here first and the app is imported afterwards (in-process, so
that a missing or invalid licence key is reported in Chinese instead of a traceback).
"""
from __future__ import annotations

import importlib.util
import logging
import os
import socket
import ssl
import sys
from pathlib import Path
from typing import Optional

import typer

from ..profiles import DEFAULT_PROFILE, available_profiles, load_profile
from . import PROJECT_DIR
from .guard import DEFAULT_MAX_MB, MAX_SIZE_ENV, RequestGuard, server_error
from .pool import MAIL_CONFIG_ENV, WORKERS_ENV, default_workers

EXIT_USAGE = 2

# The add-in's identity in Excel (manifest <Id>), one per XLWINGS_ENVIRONMENT so that a test
# server and the production server can be installed side by side. Never change these:
# Excel would treat the add-in as a new one. An XLWINGS_MANIFEST_ID_* variable overrides.
MANIFEST_IDS = {
    "dev": "c40b829a-b459-4f83-9858-c7dea31a2b30",
    "qa": "e96f8509-15dd-4f03-a822-035364660177",
    "uat": "afdd8d2c-c005-4b53-ae2c-0724562501fd",
    "staging": "1d244c7f-a771-4def-a61f-8c5ac8cb304c",
    "prod": "be4d7471-64cb-4e34-90d6-2a297fb5b957",
}

NO_SERVER = "未安装 xlwings Server：请运行 pip install 'xlperf[server]' 后重试"
NO_LICENSE = (
    "没有设置 xlwings 许可证密钥（环境变量 XLWINGS_LICENSE_KEY）。xlwings Server 以 PolyForm Noncommercial 1.0.0 "
    "许可发布，该许可明确允许政府机构使用：政府部门和预算单位请设置 XLWINGS_LICENSE_KEY=noncommercial"
    "（例如 Linux/macOS：export XLWINGS_LICENSE_KEY=noncommercial；Windows PowerShell：$env:XLWINGS_LICENSE_KEY = 'noncommercial'）；"
    "其他用途请使用 xlwings PRO 许可证密钥。详见 README“Excel 网页版和 Mac（xlwings Server）”。"
)


def _fail(message: str) -> None:
    from ..cli import _fail as fail  # the house error format (imported late: xlperf.cli imports this module)

    fail(message, EXIT_USAGE)


def _check_tls(keyfile: Optional[Path], certfile: Optional[Path]) -> None:
    if (keyfile is None) != (certfile is None):
        _fail("使用 HTTPS 需要同时给出 --ssl-keyfile（私钥）和 --ssl-certfile（证书）")
    if keyfile is None:
        return
    for path, what in ((certfile, "证书"), (keyfile, "私钥")):
        if not path.is_file():
            _fail(f"找不到{what}文件：{path}")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            str(certfile), str(keyfile), password=lambda: b"")
    except (ssl.SSLError, ValueError, OSError) as exc:
        _fail(f"无法加载证书 {certfile.name} 和私钥 {keyfile.name}（{exc}）：请确认两者都是 PEM 格式、"
              "证书与私钥是同一对、私钥没有设置密码")


def _check_port(host: str, port: int) -> None:
    """Bind once before starting, to say in Chinese what uvicorn would only log in English."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        _fail(f"无法识别监听地址 {host}：本机使用请用 127.0.0.1，供局域网访问请用 0.0.0.0 或本机的 IP 地址")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except PermissionError:
            _fail(f"没有权限使用端口 {port}（1024 以下的端口通常需要管理员权限）：请用 --port 指定其他端口，如 8000")
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                _fail(f"端口 {port} 已被占用（可能已有一个 xlperf serve 在运行）：请先停止它，或用 --port 指定其他端口")
            _fail(f"无法在 {host}:{port} 上监听：{exc.strerror or exc}")


def _configure_environment() -> None:
    os.environ["XLWINGS_PROJECT_DIR"] = str(PROJECT_DIR)
    os.environ["XLWINGS_ON_SERVER"] = "true"  # before xlwings is imported anywhere (see shared notes)
    os.environ.setdefault("XLWINGS_ENABLE_SOCKETIO", "false")  # nothing here streams
    os.environ.setdefault("XLWINGS_LOG_LEVEL", "WARNING")  # xlperf logs the script calls itself, in Chinese
    os.environ.setdefault("XLWINGS_PROJECT_NAME", "xlperf")  # /manifest/download saves as xlperf-prod.xml
    for environment, manifest_id in MANIFEST_IDS.items():
        os.environ.setdefault(f"XLWINGS_MANIFEST_ID_{environment.upper()}", manifest_id)


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log = logging.getLogger("xlperf.server")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def serve(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="监听地址（默认 127.0.0.1 只供本机使用；供局域网中的其他电脑使用时用 0.0.0.0）"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="端口（默认 8000）"),
    ssl_keyfile: Optional[Path] = typer.Option(None, "--ssl-keyfile", help="HTTPS 私钥文件（PEM 格式）"),
    ssl_certfile: Optional[Path] = typer.Option(None, "--ssl-certfile", help="HTTPS 证书文件（PEM 格式，含中间证书）"),
    profile: str = typer.Option(DEFAULT_PROFILE, "--profile", help=f"评分规则配置：{'、'.join(available_profiles())}"),
    max_size: float = typer.Option(DEFAULT_MAX_MB, "--max-size", min=0.001, max=4096, metavar="MB", envvar=MAX_SIZE_ENV,
                                   help=f"一次请求（Excel 发送的工作簿数据）的大小上限，超过的请求被拒绝（默认 {DEFAULT_MAX_MB:g} MB；"
                                        f"也可用环境变量 {MAX_SIZE_ENV}）"),
    workers: int = typer.Option(default_workers(), "--workers", min=1, max=256, envvar=WORKERS_ENV,
                                help="同时计算的工作簿数（工作进程数，默认为本机 CPU 核数）；更多的请求排队等候，"
                                     f"清单、图标和下载始终即时响应（也可用环境变量 {WORKERS_ENV}）"),
    mail_config: Optional[Path] = typer.Option(None, "--mail-config", envvar=MAIL_CONFIG_ENV,
                                               help="“发送邮件”使用的邮件服务器设置文件（默认为启动目录中的 xlperf.toml；"
                                                    "密码只从环境变量 XLPERF_SMTP_PASSWORD 读取）"),
    token_file: Optional[Path] = typer.Option(None, "--token-file",
                                              help="只接受带有此文件中令牌的计算请求（WPS 加载项；xlperf wps install 会设置）"),
) -> None:
    """启动 xlwings Server，为 Excel 网页版和 Mac 版提供“绩效自评”选项卡（需要 XLWINGS_LICENSE_KEY，见 README）。"""
    if importlib.util.find_spec("xlwings_server") is None or importlib.util.find_spec("uvicorn") is None:
        _fail(NO_SERVER)
    if not os.environ.get("XLWINGS_LICENSE_KEY", "").strip():
        _fail(NO_LICENSE)
    try:
        load_profile(profile)
    except KeyError as exc:
        _fail(str(exc.args[0]))
    _check_tls(ssl_keyfile, ssl_certfile)
    if mail_config is not None and not mail_config.is_file():
        _fail(f"找不到邮件设置文件：{mail_config}")
    token = None
    if token_file is not None:
        from .token import read_token

        try:
            token = read_token(token_file)
        except ValueError as exc:
            _fail(str(exc))
    _check_port(host, port)
    _configure_environment()
    os.environ["XLPERF_PROFILE"] = profile  # read by xlperf.excel.default_profile in the scripts
    os.environ[WORKERS_ENV] = str(workers)  # read by xlperf.server.pool
    if mail_config is not None:
        os.environ[MAIL_CONFIG_ENV] = str(mail_config.resolve())

    import uvicorn

    try:
        from xlwings_server.main import app as fastapi_app, main_app
    except Exception as exc:  # no traceback for the user, but say what it was
        # xlwings checks the key while it is imported (XLWINGS_ON_SERVER=true), so its
        # LicenseError class cannot be imported beforehand to catch it by type.
        if type(exc).__name__ == "LicenseError":
            _fail(f"xlwings 许可证密钥无效（{exc}）：政府部门和预算单位请设置 XLWINGS_LICENSE_KEY=noncommercial，"
                  "其他用途请使用有效的 xlwings PRO 许可证密钥")
        _fail(f"xlwings Server 无法启动：{type(exc).__name__}: {exc}")

    fastapi_app.add_exception_handler(Exception, server_error)  # Chinese, not "An error occurred."
    from . import downloads, pool

    downloads.add_route(fastapi_app)
    owned = None if os.environ.get(downloads.AREA_ENV) else downloads.area()  # made here: removed when stopped
    _configure_logging()
    scheme = "https" if ssl_certfile else "http"
    shown = "本机的 IP 地址或域名" if host in ("0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
    typer.echo(f"xlperf 服务已启动：{scheme}://{shown}:{port}/manifest.xml 是 Excel 加载项清单（按 Ctrl+C 停止）", err=True)
    if not ssl_certfile:
        typer.echo("注意：没有使用 HTTPS。Excel 只加载 https 地址的加载项；正式使用请加 --ssl-keyfile 和 --ssl-certfile（见 README）。",
                   err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo("注意：服务不要求登录，收到的工作簿内容会在本机计算；只应在单位内网中开放。", err=True)
    guarded = RequestGuard(main_app, int(max_size * 1024 * 1024))  # size limit, payload check, no tracebacks
    if token is not None:
        from .token import TokenGuard

        guarded = TokenGuard(guarded, token)  # outermost: nothing is read or run without the WPS add-in's token
    pool.start()  # the workers start (and import xlperf) while uvicorn starts
    try:
        uvicorn.run(guarded, host=host, port=port, ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
                    ssl_certfile=str(ssl_certfile) if ssl_certfile else None, log_level="warning")
    finally:
        pool.stop()
        if owned is not None:
            import shutil

            shutil.rmtree(owned, ignore_errors=True)
    typer.echo("xlperf 服务已停止。", err=True)
