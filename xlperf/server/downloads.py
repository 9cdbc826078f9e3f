"""The files `xlperf serve` makes for a browser (导出, 生成报告, 发送邮件's send log), given as downloads.

Each script call that makes files gets its own folder, named by a random token (secrets.token_urlsafe),
under the server's downloads area: a temporary folder made when the server starts (removed when it
stops), or $XLPERF_SERVE_DOWNLOADS. GET /xlperf/downloads/<token>/<file> serves a file of it: only
who was given the address can fetch it. Folders older than KEEP_SECONDS are removed.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

AREA_ENV = "XLPERF_SERVE_DOWNLOADS"
PREFIX = "/xlperf/downloads"
KEEP_SECONDS = 2 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24,}$")


def area() -> Path:
    """The downloads area: $XLPERF_SERVE_DOWNLOADS, else a new temporary folder (remembered in it)."""
    named = os.environ.get(AREA_ENV)
    if not named:
        named = tempfile.mkdtemp(prefix="xlperf-serve-")
        os.environ[AREA_ENV] = named  # the worker processes and later calls use the same
    path = Path(named)
    path.mkdir(parents=True, exist_ok=True)
    return path


def expire(now: float | None = None) -> None:
    now = time.time() if now is None else now
    for folder in area().iterdir():
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def new_folder() -> Path:
    expire()
    folder = area() / secrets.token_urlsafe(24)
    folder.mkdir(mode=0o700)
    return folder


def url_of(folder: Path) -> str:
    """The folder's address, relative to the server (the alert's page is served by the same server)."""
    return f"{PREFIX}/{folder.name}"


def find(token: str, name: str) -> Path | None:
    """The file name of the folder token, or None (unknown, expired, or not a plain file of it)."""
    if not _TOKEN.match(token) or name in ("", ".", "..") or "/" in name or "\\" in name:
        return None
    folder = area() / token
    path = folder / name
    if not path.is_file() or path.resolve().parent != folder.resolve():
        return None
    if time.time() - folder.stat().st_mtime > KEEP_SECONDS:
        return None
    return path


def add_route(app) -> None:
    """GET /xlperf/downloads/<token>/<file> on xlwings Server's FastAPI app."""
    from starlette.responses import FileResponse, JSONResponse

    async def download(token: str, name: str):
        path = find(token, name)
        if path is None:
            return JSONResponse({"detail": "下载地址无效或已过期（文件保留 2 小时）：请在 Excel 中重新点击按钮"}, status_code=404)
        return FileResponse(path, filename=path.name, headers={"Cache-Control": "no-store"})

    app.add_api_route(PREFIX + "/{token}/{name:path}", download, methods=["GET"])
