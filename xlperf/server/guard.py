"""What `xlperf serve` checks before xlwings Server sees a request (the outermost ASGI layer).

- A body larger than the limit (`xlperf serve --max-size`, environment variable XLPERF_SERVE_MAX_SIZE,
  default DEFAULT_MAX_MB) is refused with 413: at once when Content-Length says so (the body is never
  read), else as soon as the chunks received pass the limit (chunked transfer encoding).
- A script call (POST /xlwings/custom-scripts-call/<script>) whose body is not the JSON object the
  Office.js client sends (invalid UTF-8 or JSON, an array, a book without sheets…) is refused with 400.
- A script call's answer is the JSON its worker process made (xlperf.server.pool.ANSWER): xlwings Server's route
  runs as always, but thousands of actions are not encoded on the event loop.
- Anything that still goes wrong is logged as one Chinese line (no traceback on the console) and,
  where no answer was sent yet, answered with a Chinese 500.

Answers are JSON {"detail": "…"}: what xlwings' client shows the user in its alert. starlette (the `server`
extra) is imported only where a request is answered: `xlperf serve --help` works without it.
"""
from __future__ import annotations

import json
import logging

DEFAULT_MAX_MB = 50.0
MAX_SIZE_ENV = "XLPERF_SERVE_MAX_SIZE"
SCRIPT_CALL = "/xlwings/custom-scripts-call/"
FUNCTION_CALL = "/xlwings/custom-functions-call"
SERVER_ERROR = "服务器处理请求时出错，工作簿没有被改动；请稍后重试，仍然出错时请把服务窗口中的记录告诉管理员"

log = logging.getLogger("xlperf.server")


def megabytes(size: float) -> str:
    return f"{round(size / 1024 / 1024, 1):g} MB"


def payload_problem(body: bytes, script: bool) -> str | None:
    """Why body is not a request xlwings Server can take (Chinese), or None."""
    what = "请求内容"
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return f"{what}不是 UTF-8 编码的文字"
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f"（第 {exc.lineno} 行第 {exc.colno} 列）" if isinstance(exc, json.JSONDecodeError) else ""
        return f"{what}不是有效的 JSON{where}"
    if not isinstance(data, dict):
        return f"{what}应为 JSON 对象，收到的是{_kind(data)}"
    if not script:
        return None
    for key in ("client", "version"):
        if not isinstance(data.get(key), str):
            return f"{what}缺少字符串字段“{key}”"
    book = data.get("book")
    if not isinstance(book, dict) or not isinstance(book.get("name"), str):
        return f"{what}缺少工作簿信息“book”（含名称 name）"
    sheets = data.get("sheets")
    if not isinstance(sheets, list) or not sheets:
        return f"{what}缺少工作表列表“sheets”"
    index = book.get("active_sheet_index")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(sheets):
        return f"{what}的“book.active_sheet_index”应为 0 到 {len(sheets) - 1} 的整数"
    names = data.get("names")
    if not isinstance(names, list):
        return f"{what}缺少名称列表“names”"
    for name in names:
        scope = name.get("scope_sheet_index") if isinstance(name, dict) else None
        if (not isinstance(name, dict) or not isinstance(name.get("name"), str)
                or not isinstance(name.get("book_scope"), bool)
                or not (scope is None or (isinstance(scope, int) and 0 <= scope < len(sheets)))
                or not isinstance(name.get("refers_to"), (str, type(None)))):
            return f"{what}的“names”中有无效的名称定义"
    for number, sheet in enumerate(sheets, 1):
        if not isinstance(sheet, dict) or not isinstance(sheet.get("name"), str):
            return f"{what}的第 {number} 个工作表缺少名称"
        values = sheet.get("values")
        if not isinstance(values, list) or not all(isinstance(row, list) for row in values):
            return f"{what}中工作表“{sheet['name'][:40]}”的单元格值“values”应为按行排列的列表"
        if not all(v is None or isinstance(v, (str, int, float, bool)) for row in values for v in row):
            return f"{what}中工作表“{sheet['name'][:40]}”的单元格值只能是文字、数字、逻辑值或空"
    return None


def _kind(data) -> str:
    return {list: "数组", str: "字符串", bool: "逻辑值", type(None): "null"}.get(type(data), "数字")


def _answer(status: int, message: str):
    from starlette.responses import JSONResponse

    return JSONResponse({"detail": message}, status_code=status,
                        headers={"Connection": "close"} if status == 413 else None)


class RequestGuard:
    """ASGI middleware: the size limit, the script calls' JSON and a last net for errors (see the module)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self):
        return _answer(413, f"请求内容超过 xlperf serve 的大小上限 {megabytes(self.max_bytes)}，未处理；工作簿过大时请删去"
                            f"不需要的工作表后重试，或请管理员用 xlperf serve --max-size（环境变量 {MAX_SIZE_ENV}）调高上限")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers

        path = scope.get("path", "")
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _answer(400, "请求头 Content-Length 无效")(scope, receive, send)
                return
            if int(length) > self.max_bytes:
                log.warning("拒绝了 %s 的请求：声明的内容 %s 超过上限 %s", _client(scope), megabytes(int(length)),
                            megabytes(self.max_bytes))
                await self._too_large()(scope, receive, send)
                return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                log.warning("拒绝了 %s 的请求：内容超过上限 %s", _client(scope), megabytes(self.max_bytes))
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if scope["method"] == "POST" and (SCRIPT_CALL in path or path.endswith(FUNCTION_CALL)):
            problem = payload_problem(body, script=SCRIPT_CALL in path)
            if problem is not None:
                log.warning("拒绝了 %s 的请求 %s：%s", _client(scope), path, problem)
                await _answer(400, f"{problem}：xlperf serve 只接受 Excel 中“绩效自评”选项卡发送的工作簿数据")(
                    scope, receive, send)
                return

        delivered, started = False, False
        answer = None
        if scope["method"] == "POST" and SCRIPT_CALL in path:
            from .pool import ANSWER

            answer = {}
            ANSWER.set(answer)  # the script's worker encodes the answer (see xlperf.server.pool)
        held = None  # the route's response start, while its body may still be replaced

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def watch(message):
            nonlocal started, held
            if answer is not None and message["type"] == "http.response.start" and message["status"] == 200:
                held = message
                return
            if held is not None and message["type"] == "http.response.body":
                body = answer.get("body")
                if body is not None:  # {"actions": []} from the route, the worker's actions instead
                    headers = [(k, v) for k, v in held["headers"] if k.lower() != b"content-length"]
                    held = {**held, "headers": headers + [(b"content-length", str(len(body)).encode())]}
                    message = {"type": "http.response.body", "body": body, "more_body": False}
                started = True
                await send(held)
                held = None
            elif message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, replay, watch)
        except Exception as exc:  # the last net: one line in the log, never a traceback on the console
            log.error("处理 %s 的请求 %s 时出错：%s: %s", _client(scope), path, type(exc).__name__, str(exc)[:200])
            if not started:
                await _answer(500, SERVER_ERROR)(scope, receive, send)


def _client(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "未知地址"


async def server_error(request, exc):
    """xlwings Server's handler of unexpected errors, in Chinese (RequestGuard logs them)."""
    return _answer(500, SERVER_ERROR)
