"""`xlperf serve`'s workers: every script runs off the event loop, in a bounded pool of processes.

Scoring is CPU-bound Python: threads would take turns on one core (the GIL), so the scripts run in
worker processes (spawned, as on Windows and macOS), as many as `xlperf serve --workers` says
(environment variable XLPERF_SERVE_WORKERS; default: the number of cores). A request beyond that waits
for a free worker; the event loop keeps answering everything else (the manifest, icons, downloads).

A worker gets the payload Excel sent, builds the same remote Book from it, runs the action's function of
xlperf.excel on it and returns the actions recorded (what Excel applies) and a line for the log.
`导出`, `生成报告` and `发送邮件` get a fresh folder of the downloads area (xlperf.server.downloads).
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from contextvars import ContextVar
from pathlib import Path

WORKERS_ENV = "XLPERF_SERVE_WORKERS"
MAIL_CONFIG_ENV = "XLPERF_SERVE_MAIL_CONFIG"  # the server's xlperf.toml (`xlperf serve --mail-config`)
FILE_ACTIONS = {"export", "word_report", "mail"}  # they make files: a download folder each

log = logging.getLogger("xlperf.server")
_pool: ProcessPoolExecutor | None = None
# A script call's answer, when RequestGuard takes it: {"body": the JSON bytes the worker made}. xlwings Server's
# route (auth, roles, the Book) runs as always; its body, {"actions": []}, is replaced by this one.
ANSWER: ContextVar[dict | None] = ContextVar("xlperf_answer", default=None)


def default_workers() -> int:
    return os.cpu_count() or 1


def workers() -> int:
    """The pool's size: $XLPERF_SERVE_WORKERS (set by `xlperf serve --workers`), else the number of cores."""
    try:
        return max(1, int(os.environ.get(WORKERS_ENV, "")))
    except ValueError:
        return default_workers()


def _warm() -> int:
    """Import what a script needs, so that the first click does not pay for it."""
    import xlwings  # noqa: F401

    from xlperf import excel, pipeline  # noqa: F401
    from xlperf.excel import reader, writer  # noqa: F401

    return os.getpid()


def start() -> ProcessPoolExecutor:
    """The pool (created once per server process), its workers started and warmed."""
    global _pool
    if _pool is None:
        size = workers()
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(size):
            _pool.submit(_warm)
    return _pool


def stop() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _mail_config() -> Path | None:
    named = os.environ.get(MAIL_CONFIG_ENV)
    if named:
        return Path(named)
    here = Path.cwd() / "xlperf.toml"  # the server's working directory
    return here if here.is_file() else None


def work(function: str, payload: dict, folder: str | None, url: str | None,
         encoded: bool = False) -> tuple[list | bytes, str]:
    """In a worker: run xlperf.excel.<function> on the Book of payload; (the actions recorded, a log line).
    encoded: the actions as the answer's JSON body (bytes) instead."""
    import time

    import xlwings as xw

    from xlperf import excel

    started = time.monotonic()
    book = xw.Book(json=payload)
    try:
        command = getattr(excel, function)
        if function in FILE_ACTIONS:
            files = excel.ServerFiles(Path(folder), url, _mail_config())
            report = command(book, files=files)
        else:
            report = command(book)
        actions = book.json()["actions"]
        if encoded:  # the answer's JSON, made here: encoding thousands of actions would hold up the event loop
            import json

            from fastapi.encoders import jsonable_encoder  # as xlwings Server's route would encode them

            actions = json.dumps({"actions": jsonable_encoder(actions)}, ensure_ascii=False, allow_nan=False,
                                 separators=(",", ":")).encode("utf-8")
        took = time.monotonic() - started
        return actions, f"{_outcome(report)}（工作进程 {os.getpid()}，用时 {took:.1f} 秒）"
    finally:
        book.close()


def _outcome(report) -> str:
    if report is None:
        return "未完成（已提示用户）"
    if hasattr(report, "results"):
        return f"{len(report.results)} 个项目，{len(report.findings)} 条问题"
    if hasattr(report, "tables"):  # 检查 on a book with no input sheet: xlperf.check's CheckReport of 附件1 tables
        return f"{len(report.tables)} 张自评表，{len(report.findings)} 条问题"
    if hasattr(report, "sent"):
        return f"发送 {len(report.sent)} 个收件人，{len(report.failures)} 个失败"
    return f"{sum(1 for i in report.items if i.ok)} 个项目完成，{sum(1 for i in report.items if not i.ok)} 个未完成"


async def run(function: str, label: str, book) -> None:
    """Run the action in the pool and put what it recorded onto book (the Book xlwings Server answers with)."""
    from . import downloads

    folder = url = None
    if function in FILE_ACTIONS:
        made = downloads.new_folder()
        folder, url = str(made), downloads.url_of(made)
    payload = book.api
    answer = ANSWER.get()  # set by RequestGuard (xlperf serve): it sends the JSON made in the worker
    actions, outcome = await asyncio.get_running_loop().run_in_executor(
        start(), work, function, payload, folder, url, answer is not None)
    if answer is not None:
        answer["body"] = actions
    else:
        book.json()["actions"].extend(actions)
    log.info("%s“%s”：%s", label, book.name, outcome)
