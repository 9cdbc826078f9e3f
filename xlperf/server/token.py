"""The per-install token of the WPS add-in (`xlperf wps install`): script calls must carry it.

`xlperf serve --token-file FILE` (what the autostart entry written by `xlperf wps install` runs) wraps
the app in `TokenGuard`: every POST to xlwings Server's script and function endpoints must carry the
header X-Xlperf-Token with the file's token (compared in constant time), else 401 in Chinese and the
workbook is not touched. The WPS add-in's page is an offline page (origin "null"), so its requests are
cross-origin: TokenGuard answers their CORS preflight for those endpoints and adds the CORS header to
the answers. Without --token-file nothing changes (Excel on the web authenticates as before).
"""
from __future__ import annotations

import hmac
from pathlib import Path

from .guard import FUNCTION_CALL, SCRIPT_CALL, _answer

HEADER = "x-xlperf-token"
ALLOWED_HEADERS = "Content-Type, X-Xlperf-Token"


def read_token(path: Path) -> str:
    """The token in path (one line), or ValueError with a Chinese reason."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"无法读取令牌文件 {path}：{getattr(exc, 'strerror', None) or exc}") from None
    if len(token) < 16:
        raise ValueError(f"令牌文件 {path} 中没有有效的令牌（至少 16 个字符）：请重新运行 xlperf wps install")
    return token


def _protected(path: str) -> bool:
    return SCRIPT_CALL in path or path.endswith(FUNCTION_CALL)


class TokenGuard:
    """ASGI middleware: script and function calls need the token (see the module)."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token.encode("utf-8")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not _protected(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        origin = headers.get("origin")
        cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}
        if scope["method"] == "OPTIONS":  # the add-in's preflight: no token in it, nothing run
            from starlette.responses import Response

            await Response(status_code=204, headers={**cors, "Access-Control-Allow-Methods": "POST",
                                                     "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                                     "Access-Control-Max-Age": "600"})(scope, receive, send)
            return
        given = headers.get(HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, self.token):
            response = _answer(401, "请求没有带上正确的 xlperf 令牌，未处理：请在本机重新运行 xlperf wps install，"
                                    "然后重新启动 WPS 和 xlperf 服务")
            response.headers.update(cors)
            await response(scope, receive, send)
            return

        async def with_cors(message):
            if message["type"] == "http.response.start" and cors:
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((k.lower().encode(), v.encode()) for k, v in cors.items())]}
            await send(message)

        await self.app(scope, receive, with_cors)
