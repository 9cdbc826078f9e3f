"""`xlperf serve` against hostile requests (issue 21): a real server in a subprocess on 127.0.0.1 (HTTP).

A body that is not the JSON object the Office.js client sends is answered 400 with a Chinese message;
a body over the limit (here XLPERF_SERVE_MAX_SIZE=1, i.e. 1 MB) is answered 413 before it is read whole,
whether Content-Length announces it or it comes in chunks without one; and the console shows one
Chinese line per refusal, never a traceback.
"""
from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("xlwings_server")

from xlperf.server.guard import MAX_SIZE_ENV, payload_problem  # noqa: E402

from .remote_book import payload_from_openpyxl  # noqa: E402
from .test_mail import free_port  # noqa: E402
from .test_server import STARTUP_SECONDS, server_env  # noqa: E402
from .servers import stop  # noqa: E402

SCRIPT = "/xlwings/custom-scripts-call/recalc"
LIMIT = 1024 * 1024
CHINESE = re.compile(r"[\u4e00-\u9fff]")


class Server:
    def __init__(self, port: int, process: subprocess.Popen, log: Path):
        self.port, self.process, self.log = port, process, log
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"xlperf serve exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"xlperf serve did not answer within {STARTUP_SECONDS} s:\n{self.output()}")
            try:
                if self.http.get("/xlwings/custom-scripts-meta").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)

    def post(self, body: bytes, **headers) -> httpx.Response:
        return self.http.post(SCRIPT, content=body, headers={"Content-Type": "application/json", **headers})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("serve-hostile")
    port, log = free_port(), directory / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "xlperf", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env={**server_env(), MAX_SIZE_ENV: "1"},
                                   cwd=directory)
    running = Server(port, process, log)
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.http.close()
        stop(process)
    assert "Traceback" not in running.output(), running.output()


def assert_refused(response: httpx.Response, status: int, *phrases: str) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]  # what xlwings' client shows in its alert
    assert CHINESE.search(detail) and "Traceback" not in detail, detail
    for phrase in phrases:
        assert phrase in detail, detail
    return detail


def assert_quiet_log(server: Server) -> None:
    log = server.output()
    assert "Traceback" not in log and "Exception in ASGI application" not in log and "ERROR:" not in log, log


# ---- 400: not the JSON object Office.js sends -------------------------------------------------
def _book_payload() -> dict:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "随便写的表"
    return payload_from_openpyxl(wb, name="其他.xlsx")


@pytest.mark.parametrize("body, phrase", [
    (b"not json", "不是有效的 JSON"),
    (b'{"client": "Office.js", ', "不是有效的 JSON"),
    (b"\xff\xfe\x00{", "UTF-8"),
    (b"[1, 2]", "JSON 对象"),
    (b'"\xe5\xb7\xa5\xe4\xbd\x9c\xe7\xb0\xbf"', "JSON 对象"),
    (b"null", "JSON 对象"),
    (b"{}", "client"),
    (b'{"client": "Office.js", "version": "1", "book": 5}', "book"),
    (b"[" * 100000 + b"]" * 100000, "JSON"),  # nested past Python's recursion limit
])
def test_a_malformed_body_is_a_chinese_400(server, body, phrase):
    assert_refused(server.post(body), 400, phrase)
    assert_quiet_log(server)


@pytest.mark.parametrize("change", [
    lambda p: p.pop("names"),
    lambda p: p.update(names=[{"name": 5}]),
    lambda p: p.update(sheets=[]),
    lambda p: p["book"].update(active_sheet_index=7),
    lambda p: p["sheets"][0].update(values="A1"),
    lambda p: p["sheets"][0].update(values=[[{"formula": "=1"}]]),
])
def test_a_book_payload_missing_parts_is_a_chinese_400(server, change):
    payload = _book_payload()
    change(payload)
    assert_refused(server.post(json.dumps(payload).encode()), 400)
    assert_quiet_log(server)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                                   lambda inner: st.lists(inner, max_size=4)
                                   | st.dictionaries(st.sampled_from(["client", "version", "book", "sheets", "names",
                                                                      "name", "values", "x"]), inner, max_size=5),
                                   max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_any_body_gets_an_answer_in_chinese_never_a_traceback(server, body):
    response = server.post(body)
    if response.status_code == 200:  # a payload good enough for xlwings: the script's own Chinese alert
        assert CHINESE.search(response.json()["actions"][-1]["args"][0])
    else:
        assert_refused(response, 400)
    assert_quiet_log(server)


def test_a_valid_request_still_reaches_the_script(server):
    response = server.post(json.dumps(_book_payload()).encode())
    assert response.status_code == 200, response.text
    (action,) = response.json()["actions"]
    assert action["func"] == "alert" and "没有找到项目录入表" in action["args"][0]


def test_the_checker_accepts_what_office_js_sends():
    assert payload_problem(json.dumps(_book_payload()).encode(), script=True) is None


# ---- 413: over the limit, refused before it is read whole ------------------------------------------
def _response_head(sock: socket.socket, timeout: float = 20) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _detail(sock: socket.socket, head: bytes) -> str:
    header, _, body = head.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", header, re.I).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return json.loads(body)["detail"]


def test_a_huge_content_length_is_refused_without_reading_the_body(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST {SCRIPT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {10 ** 12}\r\n\r\n".encode() + b'{"client": ')
        started = time.monotonic()
        head = _response_head(sock)  # answered although not one more byte of the terabyte comes
        assert head.startswith(b"HTTP/1.1 413"), head
        assert time.monotonic() - started < 10
        detail = _detail(sock, head)
    assert "1 MB" in detail and "--max-size" in detail and MAX_SIZE_ENV in detail
    assert_quiet_log(server)
    assert "超过上限 1 MB" in server.output()


def test_chunked_body_without_content_length_is_refused_once_past_the_limit(server):
    chunk = b"[" * 65536
    sent, head = 0, b""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST {SCRIPT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        while sent < 64 * LIMIT:  # never the closing chunk: a server reading it whole would never answer
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        with contextlib.suppress(ConnectionResetError):
            head = _response_head(sock)
        assert head.startswith(b"HTTP/1.1 413"), (sent, head)
        assert "1 MB" in _detail(sock, head)
    assert sent < 64 * LIMIT
    assert_quiet_log(server)


def test_a_body_just_under_the_limit_is_read(server):
    body = b" " * (LIMIT - 10) + b"[1]"
    assert_refused(server.post(body), 400, "JSON 对象")
    assert_refused(server.post(body + b" " * 20), 413, "1 MB")
    assert_quiet_log(server)


def test_an_invalid_limit_is_refused_in_chinese(monkeypatch):
    from typer.testing import CliRunner

    from xlperf.cli import app

    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    for args, env in ((["--max-size", "0"], {}), ([], {MAX_SIZE_ENV: "很多"})):
        result = CliRunner().invoke(app, ["serve", *args], env=env)
        assert result.exit_code == 2, result.output
        assert "--max-size" in result.output and "Traceback" not in result.output and "Invalid" not in result.output
