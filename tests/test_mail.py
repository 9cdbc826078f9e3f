"""`xlperf mail` against a real SMTP server (aiosmtpd) on 127.0.0.1: plain, and STARTTLS + AUTH
with a certificate made here; what arrives is parsed and compared with the exported file."""
from __future__ import annotations

import dataclasses
import datetime as dt
import email
import io
import ipaddress
import re
import socket
import ssl
import time
from email import policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf.cli import app
from xlperf.export import MANIFEST_NAME, default_outdir
from xlperf.mail import (
    CONFIG_NAME,
    MailConfigError,
    attachment_part,
    build_message,
    check_template,
    format_address,
    message_bytes,
    send_log_path,
    split_addresses,
)
from xlperf.template.build import new_workbook
from xlperf.template.seeds import SEED_000, SEED_004
from xlperf.writers.save import save_workbook_atomic

runner = CliRunner()
FILE_004 = "信息化运行维护_项目支出绩效自评表.xlsx"
SUBJECT_004 = "2020年度项目支出绩效自评表：信息化运行维护（99.78分，优秀）"
SENDER = "jxzp@unit.example.cn"
USER = "jxzp@unit.example.cn"
PASSWORD = "S3cret-Auth-7788"
ENV_VARS = ("XLPERF_SMTP_HOST", "XLPERF_SMTP_PORT", "XLPERF_SMTP_SECURITY", "XLPERF_SMTP_USER",
            "XLPERF_SMTP_PASSWORD", "XLPERF_MAIL_FROM")


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No SMTP settings from the machine running the tests; an empty user config folder."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))


# ---- a real SMTP server -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """aiosmtpd handler: keeps every message; can refuse (550) or defer (451, n times) given recipients."""

    def __init__(self, refuse=(), defer=None):
        self.messages: list[dict] = []
        self.refuse = set(refuse)
        self.defer = dict(defer or {})
        self.deferred: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        if self.defer.get(address, 0) > 0:
            self.defer[address] -= 1
            self.deferred.append(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content or envelope.content,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "login": getattr(session.auth_data, "login", None),
        })
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture
def smtp_plain():
    handler = Recorder(refuse={"bad@example.cn"}, defer={"later@example.cn": 1})
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA (self-signed) and a server certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xlperf test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture
def smtp_starttls(tmp_path):
    ca, cert, key = make_certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=authenticator)
    controller.start()
    try:
        yield controller, handler, ca
    finally:
        controller.stop()


# ---- workbooks -----------------------------------------------------------------------------
def make_exported(directory: Path, email_cell: str = "xxzx@example.cn", projects=None) -> Path:
    """A master workbook (seed 004, 电子邮箱 = email_cell), exported to its default folder."""
    seed = dataclasses.replace(SEED_004, meta={**SEED_004.meta, "email": email_cell})
    book = directory / "绩效自评.xlsx"
    save_workbook_atomic(new_workbook(projects or [seed]), book)
    result = run("export", book)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return book


def write_config(book: Path, text: str) -> Path:
    path = book.parent / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def use_plain_server(monkeypatch, controller) -> None:
    monkeypatch.setenv("XLPERF_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("XLPERF_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("XLPERF_SMTP_SECURITY", "none")
    monkeypatch.setenv("XLPERF_MAIL_FROM", f"绩效自评工作组 <{SENDER}>")


def parse(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


def flat(text: str) -> str:
    """Console output without the table's borders and line breaks."""
    return re.sub(r"[\s│┃]+", "", text)


def assert_workbook_arrived(message: dict, book: Path) -> None:
    msg = parse(message["data"])
    assert msg["Subject"] == SUBJECT_004
    raw = message["data"].decode("ascii")  # the whole message is 7-bit
    assert re.search(r"^Subject: =\?utf-8\?b\?", raw, re.M)  # RFC 2047
    assert "filename*0*=utf-8''" in raw  # RFC 2231
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == FILE_004
    assert part.get_param("name") == FILE_004  # the RFC 2047 fallback for older clients
    assert part.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    exported = default_outdir(book) / FILE_004
    data = part.get_content()
    assert data == exported.read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["附件1-信息化运行维护"]
    totals = {ws.cell(r, 1).value: ws.cell(r, 8).value for r in range(1, ws.max_row + 1)}
    assert (totals["总分"], totals["评价等级"]) == (99.78, "优秀")
    body = msg.get_body(("plain",)).get_content()
    assert "信息化运行维护" in body and "99.78" in body and "山西省某市审计局" in body


# ---- sending --------------------------------------------------------------------------------
def test_plain_smtp_sends_the_exported_workbook_once(tmp_path, monkeypatch, smtp_plain):
    controller, handler = smtp_plain
    book = make_exported(tmp_path)
    use_plain_server(monkeypatch, controller)

    result = run("mail", book, "--cc", "czj@example.cn")
    assert result.exit_code == 0, result.stdout + result.stderr
    (message,) = handler.messages
    assert not message["tls"] and not message["authenticated"]
    assert message["mail_from"] == SENDER
    assert sorted(message["rcpt_tos"]) == ["czj@example.cn", "xxzx@example.cn"]
    msg = parse(message["data"])
    assert msg["To"] == "xxzx@example.cn" and msg["Cc"] == "czj@example.cn"
    assert msg["From"].addresses[0].display_name == "绩效自评工作组"
    assert_workbook_arrived(message, book)
    log = send_log_path(book).read_text(encoding="utf-8-sig")
    assert log.count("已发送") == 2 and "xxzx@example.cn" in log and FILE_004 in log

    again = run("mail", book, "--cc", "czj@example.cn")  # nothing new
    assert again.exit_code == 0, again.stdout + again.stderr
    assert len(handler.messages) == 1
    assert "已发送过" in flat(again.stdout) and "--resend" in again.stdout

    resent = run("mail", book, "--resend")
    assert resent.exit_code == 0
    assert len(handler.messages) == 2 and handler.messages[1]["rcpt_tos"] == ["xxzx@example.cn"]


def test_starttls_with_login_and_a_test_certificate(tmp_path, monkeypatch, smtp_starttls):
    controller, handler, ca = smtp_starttls
    book = make_exported(tmp_path)
    write_config(book, f"""
[smtp]
host = "127.0.0.1"
port = {controller.port}
security = "starttls"
user = "{USER}"
from = "绩效自评工作组 <{SENDER}>"
ca_file = "{ca.name}"   # relative to this file
""")
    monkeypatch.setenv("XLPERF_SMTP_PASSWORD", PASSWORD)
    result = run("mail", book, "--to", "czj@example.cn")
    assert result.exit_code == 0, result.stdout + result.stderr
    (message,) = handler.messages
    assert message["tls"] and message["authenticated"] and message["login"] == USER.encode()
    assert sorted(message["rcpt_tos"]) == ["czj@example.cn", "xxzx@example.cn"]
    assert_workbook_arrived(message, book)
    # the password is nowhere but in the environment
    for text in (result.stdout, result.stderr, send_log_path(book).read_text(encoding="utf-8-sig"),
                 (book.parent / CONFIG_NAME).read_text(encoding="utf-8")):
        assert PASSWORD not in text
    for path in [book, *default_outdir(book).iterdir()]:
        assert PASSWORD.encode() not in path.read_bytes()
    assert PASSWORD.encode() not in message["data"]


def test_refused_login_is_explained(tmp_path, monkeypatch, smtp_starttls):
    controller, handler, ca = smtp_starttls
    book = make_exported(tmp_path)
    write_config(book, f'[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nuser = "{USER}"\nca_file = "{ca}"\n')
    monkeypatch.setenv("XLPERF_SMTP_PASSWORD", "wrong-password")
    result = run("mail", book)
    assert result.exit_code == 1
    assert "拒绝登录" in flat(result.stderr) and "授权码" in flat(result.stderr)
    assert "wrong-password" not in result.stdout + result.stderr
    assert handler.messages == []
    assert "失败" in send_log_path(book).read_text(encoding="utf-8-sig")


def test_untrusted_certificate_is_explained(tmp_path, monkeypatch, smtp_starttls):
    controller, handler, _ = smtp_starttls
    book = make_exported(tmp_path)
    monkeypatch.setenv("XLPERF_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("XLPERF_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("XLPERF_SMTP_USER", USER)
    monkeypatch.setenv("XLPERF_SMTP_PASSWORD", PASSWORD)
    result = run("mail", book)  # verifying by default, and the test CA is not trusted
    assert result.exit_code == 1
    assert "证书无法验证" in flat(result.stderr) and "ca_file" in result.stderr
    assert handler.messages == []
    write_config(book, "[smtp]\nverify = false\n")  # the user's explicit choice for such a server
    result = run("mail", book)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert [m["rcpt_tos"] for m in handler.messages] == [["xxzx@example.cn"]]


def test_implicit_tls(tmp_path, monkeypatch):
    """security = "ssl": TLS from the first byte (port 465 style)."""
    ca, cert, key = make_certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    try:
        book = make_exported(tmp_path)
        write_config(book, f'[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "ssl"\n'
                           f'from = "{SENDER}"\nca_file = "{ca}"\n')
        result = run("mail", book)
    finally:
        controller.stop()
    assert result.exit_code == 0, result.stdout + result.stderr
    (message,) = handler.messages
    assert message["tls"]
    assert_workbook_arrived(message, book)


def test_unreachable_server(tmp_path, monkeypatch):
    book = make_exported(tmp_path)
    port = free_port()  # nothing listens there
    write_config(book, "[smtp]\nretries = 2\nretry_delay = 0\n")
    monkeypatch.setenv("XLPERF_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("XLPERF_SMTP_PORT", str(port))
    monkeypatch.setenv("XLPERF_SMTP_SECURITY", "none")
    monkeypatch.setenv("XLPERF_MAIL_FROM", SENDER)
    started = time.monotonic()
    result = run("mail", book)
    assert result.exit_code == 1
    assert time.monotonic() - started < 10
    assert f"无法连接邮件服务器127.0.0.1:{port}" in flat(result.stderr) and "连接被拒绝" in flat(result.stderr)


def test_one_failing_recipient_does_not_stop_the_others(tmp_path, monkeypatch, smtp_plain):
    controller, handler = smtp_plain
    book = make_exported(tmp_path, email_cell="bad@example.cn；xxzx@example.cn, later@example.cn")
    write_config(book, "[smtp]\nretry_delay = 0\n")
    use_plain_server(monkeypatch, controller)
    result = run("mail", book)
    assert result.exit_code == 1
    assert handler.deferred == ["later@example.cn"]  # 451 once, then retried
    delivered = sorted(a for m in handler.messages for a in m["rcpt_tos"])
    assert delivered == ["later@example.cn", "xxzx@example.cn"]
    err = flat(result.stderr)
    assert "1项未能发送" in err and "bad@example.cn" in err and "550" in err
    # a rerun sends only to the one that failed (and it fails again)
    again = run("mail", book)
    assert again.exit_code == 1
    assert len([a for m in handler.messages for a in m["rcpt_tos"]]) == 2
    assert "bad@example.cn" in flat(again.stderr)


def test_invalid_addresses(tmp_path, monkeypatch, smtp_plain):
    controller, handler = smtp_plain
    book = make_exported(tmp_path, email_cell="xxzx＠example.cn; not-an-address, ok@example.cn")
    use_plain_server(monkeypatch, controller)
    result = run("mail", book)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "“xxzx＠example.cn”不是有效的邮箱地址：含全角字符“＠”" in err
    assert "“not-an-address”不是有效的邮箱地址（缺少@）" in err and "电子邮箱" in err
    assert [m["rcpt_tos"] for m in handler.messages] == [["ok@example.cn"]]  # the valid one still gets it

    bad_option = run("mail", book, "--to", "someone@")
    assert bad_option.exit_code == 2 and "--to" in bad_option.stderr and "不是有效的邮箱地址" in bad_option.stderr


def test_missing_attachment_and_refused_project(tmp_path, monkeypatch, smtp_plain):
    controller, handler = smtp_plain
    seed_000 = dataclasses.replace(SEED_000, meta={**SEED_000.meta, "email": "xz@example.cn"})
    seed_004 = dataclasses.replace(SEED_004, meta={**SEED_004.meta, "email": "xxzx@example.cn"})
    book = make_exported(tmp_path, projects=[seed_000, seed_004])  # 000 is refused (error finding)
    use_plain_server(monkeypatch, controller)
    (default_outdir(book) / FILE_004).unlink()
    result = run("mail", book)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "附件不存在" in err and FILE_004 in err and "xlperfexport" in err
    assert "未导出，未发送" in err and "忻州市政府信息化建设经费" in err
    assert handler.messages == []


def test_not_exported_or_not_configured_exits_2(tmp_path, monkeypatch):
    seed = dataclasses.replace(SEED_004, meta={**SEED_004.meta, "email": "xxzx@example.cn"})
    book = tmp_path / "绩效自评.xlsx"
    save_workbook_atomic(new_workbook([seed]), book)
    monkeypatch.setenv("XLPERF_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("XLPERF_MAIL_FROM", SENDER)
    result = run("mail", book)
    assert result.exit_code == 2 and "xlperf export" in result.stderr and MANIFEST_NAME in result.stderr
    monkeypatch.delenv("XLPERF_SMTP_HOST")
    assert run("export", book).exit_code == 0
    result = run("mail", book)
    assert result.exit_code == 2 and "没有设置SMTP服务器" in flat(result.stderr)
    monkeypatch.setenv("XLPERF_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("XLPERF_SMTP_SECURITY", "tls1.3")
    result = run("mail", book)
    assert result.exit_code == 2 and "starttls" in result.stderr
    monkeypatch.setenv("XLPERF_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("XLPERF_SMTP_USER", USER)
    result = run("mail", book)
    assert result.exit_code == 2 and "XLPERF_SMTP_PASSWORD" in result.stderr
    monkeypatch.setenv("XLPERF_SMTP_PASSWORD", "密码")
    result = run("mail", book)
    assert result.exit_code == 2 and "只能包含英文字母" in result.stderr
    write_config(book, f'[smtp]\npassword = "{PASSWORD}"\n')
    monkeypatch.setenv("XLPERF_SMTP_PASSWORD", PASSWORD)
    result = run("mail", book)
    assert result.exit_code == 2 and "密码不能写在文件里" in flat(result.stderr)
    assert PASSWORD not in result.stdout + result.stderr


def test_dry_run_writes_eml_files_with_the_users_template(tmp_path):
    book = make_exported(tmp_path)
    write_config(book, """
[mail]
subject = "【{预算单位}】{项目名称} 自评表（{总得分}分）"
body = \"\"\"各位领导：
{项目名称}（{年度}年度）评价等级 {评价等级}，{{详见附件}}。
\"\"\"
""")
    result = run("mail", book, "--dry-run")  # no SMTP settings needed
    assert result.exit_code == 0, result.stdout + result.stderr
    (eml,) = (default_outdir(book) / "待发送邮件").glob("*.eml")
    assert eml.name == "信息化运行维护_项目支出绩效自评表.eml"
    msg = parse(eml.read_bytes())
    assert msg["Subject"] == "【山西省某市审计局】信息化运行维护 自评表（99.78分）"
    assert msg["X-Unsent"] == "1" and msg["To"] == "xxzx@example.cn"
    body = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith("各位领导：\n信息化运行维护（2020年度）评价等级 优秀，{详见附件}。")
    assert [p.get_filename() for p in msg.iter_attachments()] == [FILE_004]
    assert not send_log_path(book).exists()  # nothing was sent

    write_config(book, '[mail]\nsubject = "{项目名称}：{得分}（{单位}）"\n')
    result = run("mail", book, "--dry-run")
    assert result.exit_code == 2
    assert "{得分}、{单位}无法识别" in flat(result.stderr) and "{总得分}" in result.stderr


# ---- message building, without a server ----------------------------------------------------
def test_addresses():
    assert split_addresses("a@x.cn；b@x.cn, c@x.cn、d@x.cn\ne@x.cn f@x.cn") == [f"{c}@x.cn" for c in "abcdef"]
    assert split_addresses("张三 <a@x.cn>; b@x.cn") == ["张三 <a@x.cn>", "b@x.cn"]
    assert format_address("张三 <a@x.cn>") == "张三 <a@x.cn>"
    assert format_address('"Zhang, San" <a@x.cn>') == '"Zhang, San" <a@x.cn>'
    assert format_address("a.b+c@mail.example.gov.cn") == "a.b+c@mail.example.gov.cn"
    assert format_address("someone@例子.中国") == "someone@xn--fsqu00a.xn--fiqs8s"
    for bad in ("a@", "@x.cn", "a@x", "a b@x.cn", "a@@x.cn", "a@x..cn", "a@x.cn\nBcc: e@x.cn"):
        with pytest.raises(ValueError):
            format_address(bad)


def test_long_chinese_file_name_survives(tmp_path):
    name = "很长的项目名称" * 7 + "_项目支出绩效自评表.xlsx"
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 data")
    msg = build_message(subject="主题", body="正文", sender=SENDER, to=["a@x.cn"], cc=[], attachments=[path])
    raw = message_bytes(msg)
    assert raw.isascii()
    assert all(len(line) <= 80 for line in raw.split(b"\r\n")), "header lines stay short"
    (part,) = parse(raw).iter_attachments()
    assert part.get_filename() == name and part.get_param("name") == name
    assert part.get_content() == path.read_bytes()
    # every RFC 2231 segment decodes on its own (split between characters, not inside one)
    segments = re.findall(rb"filename\*\d+\*=(?:utf-8'')?([^;\r\n]+)", raw)
    assert len(segments) > 1
    from urllib.parse import unquote_to_bytes
    for seg in segments:
        unquote_to_bytes(seg.decode()).decode("utf-8")
    pdf = attachment_part(b"%PDF-1.4", "附件.pdf", "application", "pdf")
    assert "application/pdf" in pdf["Content-Type"]


def test_template_check():
    check_template("{项目名称}{总得分}{评价等级}{预算单位}{年度}{{}}", "邮件主题")
    for bad, shown in (("{项目}", "{项目}"), ("{}", "{}"), ("{0}", "{0}"), ("{项目名称.x}", "{项目名称.x}")):
        with pytest.raises(MailConfigError, match=re.escape(shown)):
            check_template(bad, "邮件主题")
    with pytest.raises(MailConfigError, match="大括号"):
        check_template("{项目名称", "邮件主题")
    with pytest.raises(MailConfigError, match="格式说明"):
        check_template("{总得分:.1f}", "邮件主题")


def test_project_list_email_column_is_where_addresses_come_from(tmp_path):
    book = make_exported(tmp_path, email_cell="")
    wb = openpyxl.load_workbook(book)
    ws = wb[L.PROJECT_LIST_SHEET]
    assert ws.cell(L.PROJECT_LIST_HEADER_ROW, L.PROJECT_LIST_KEYS.index("email") + 1).value == "电子邮箱"
    result = run("mail", book, "--dry-run")
    assert result.exit_code == 1 and "没有收件人" in flat(result.stderr)
    ws.cell(L.PROJECT_LIST_FIRST_ROW, L.PROJECT_LIST_KEYS.index("email") + 1).value = "new@example.cn"
    wb.save(book)  # the accountant fills in the address after exporting
    result = run("mail", book, "--dry-run")
    assert result.exit_code == 0
    assert "导出" in result.stderr and "之后被修改过" in flat(result.stderr)  # a warning, not a refusal
    (eml,) = (default_outdir(book) / "待发送邮件").glob("*.eml")
    assert parse(eml.read_bytes())["To"] == "new@example.cn"
