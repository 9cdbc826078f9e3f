"""Send the exported workbooks by email: `xlperf mail BOOK.xlsx`.

Each project's exported workbook (and PDF, if made) listed in the export's
manifest (`export.MANIFEST_NAME`) goes to the addresses in the 项目清单 sheet's
电子邮箱 column, plus --to/--cc and the config's [mail] to/cc, with a Chinese
subject and body from a template the user can change.

Settings (later wins): ``xlperf.toml`` in the user's config folder, then
``xlperf.toml`` beside the workbook (or --config), then the environment
variables XLPERF_SMTP_HOST, XLPERF_SMTP_PORT, XLPERF_SMTP_SECURITY
(starttls/ssl/none), XLPERF_SMTP_USER, XLPERF_SMTP_PASSWORD and XLPERF_MAIL_FROM.
The password comes only from the environment: a config file holding one is
refused, and it is never printed, logged or written anywhere.

Messages are built with the standard library: the subject and display names
RFC 2047 encoded, the attachment's file name RFC 2231 encoded in
Content-Disposition (the standard) and RFC 2047 encoded in Content-Type's
name (what Outlook, Foxmail and webmail themselves send, read by older
clients), the body base64 UTF-8, so the whole message is 7-bit ASCII.

Everything taken from the workbook is untrusted: a 电子邮箱 cell (and --to/--cc,
the config's lists) must hold addresses and nothing else, or nothing is sent for
it (see split_addresses); project names and other values are made one line of
plain text before they reach a header, a file name, the log or the console; each
message is read back before it is used, and must name exactly its recipients.

A send log (``<工作簿名>_发送记录.csv`` beside the workbook) records, per
recipient, 已发送, 失败 or 未确认 (the whole message went out but the connection
dropped before the server's reply, so it may have arrived); a project already
sent — or possibly sent — to an address is not sent to it again unless
resend=True. Fields a spreadsheet would take for formulas are written with a
leading apostrophe (OWASP's CSV-injection rule) and read back without it.

A failure for one recipient does not stop the others: the SMTP transaction is
run step by step so that per-recipient refusals are known, a message the server
refuses as a whole is tried again one recipient at a time, temporary failures
(4xx replies, dropped connections) are retried a bounded number of times, and
every failure is reported at the end.
"""
from __future__ import annotations

import csv
import os
import re
import smtplib
import socket
import ssl
import string
import sys
import time
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import encoders
from email import policy as email_policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import quote

from . import layout as L
from .export import default_outdir, file_sha256, read_manifest

CONFIG_NAME = "xlperf.toml"
ENV_HOST, ENV_PORT, ENV_SECURITY = "XLPERF_SMTP_HOST", "XLPERF_SMTP_PORT", "XLPERF_SMTP_SECURITY"
ENV_USER, ENV_PASSWORD, ENV_FROM = "XLPERF_SMTP_USER", "XLPERF_SMTP_PASSWORD", "XLPERF_MAIL_FROM"
SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2  # extra attempts after the first, for temporary failures
DEFAULT_RETRY_DELAY = 2.0  # seconds before the first retry; doubled each time

# The template's placeholders: {项目名称} etc. ({{ and }} for literal braces).
PLACEHOLDERS = ("项目名称", "总得分", "评价等级", "预算单位", "年度", "主管部门")
DEFAULT_SUBJECT = "{年度}年度项目支出绩效自评表：{项目名称}（{总得分}分，{评价等级}）"
DEFAULT_BODY = """您好：

附件是{预算单位}“{项目名称}”{年度}年度项目支出绩效自评表，总得分 {总得分} 分，评价等级：{评价等级}。

请查收。如有疑问请回复本邮件。
"""
SMTP_KEYS = ("host", "port", "security", "user", "from", "timeout", "verify", "ca_file", "retries", "retry_delay")
MAIL_KEYS = ("to", "cc", "subject", "body")

SEND_LOG_SUFFIX = "_发送记录.csv"
LOG_COLUMNS = ("时间", "项目名称", "收件人", "方式", "附件", "附件SHA256", "结果", "说明", "Message-ID")
SENT, FAILED, UNCONFIRMED = "已发送", "失败", "未确认"
DRAFTS_FOLDER = "待发送邮件"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PDF_TYPE = ("application", "pdf")
DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


class MailConfigError(Exception):
    """Settings, template or command-line addresses are unusable; str(exc) is for the user (exit 2)."""


# ---- settings ----------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int | None = None
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # from the environment only
    sender: str | None = None  # the From address, "名称 <地址>" or "地址"
    timeout: float = DEFAULT_TIMEOUT
    verify: bool = True
    ca_file: Path | None = None
    retries: int = DEFAULT_RETRIES
    retry_delay: float = DEFAULT_RETRY_DELAY

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def where(self) -> str:
        return f"{self.host}:{self.effective_port}"


@dataclass(frozen=True)
class MailSettings:
    smtp: SmtpSettings
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = DEFAULT_SUBJECT
    body: str = DEFAULT_BODY
    sources: tuple[Path, ...] = ()  # the config files read, in order


def user_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's config folder for xlperf (%APPDATA%\\xlperf, ~/Library/Application Support/xlperf, ~/.config/xlperf)."""
    env = os.environ if env is None else env
    if os.name == "nt" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "xlperf"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "xlperf"
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xlperf"


def config_files(book: Path, config: Path | None = None, env: Mapping[str, str] | None = None) -> list[Path]:
    """The config files that apply, lowest precedence first."""
    files = []
    user = user_config_dir(env) / CONFIG_NAME
    if user.is_file():
        files.append(user)
    if config is not None:
        if not Path(config).is_file():
            raise MailConfigError(f"找不到配置文件：{config}")
        files.append(Path(config))
    else:
        beside = Path(book).resolve().parent / CONFIG_NAME
        if beside.is_file() and beside not in files:
            files.append(beside)
    return files


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise MailConfigError(f"配置文件 {path} 格式错误：{exc}") from exc
    except OSError as exc:
        raise MailConfigError(f"无法读取配置文件 {path}：{exc.strerror or exc}") from exc


def load_settings(book: Path, config: Path | None = None, env: Mapping[str, str] | None = None) -> MailSettings:
    """Merge the config files and the environment; check everything that can be checked without a server."""
    env = os.environ if env is None else env
    smtp: dict = {}
    mail: dict = {}
    files = config_files(book, config, env)
    for path in files:
        data = _read_toml(path)
        for section, keys, target in (("smtp", SMTP_KEYS, smtp), ("mail", MAIL_KEYS, mail)):
            values = data.get(section, {})
            if not isinstance(values, dict):
                raise MailConfigError(f"配置文件 {path} 中的 [{section}] 应为一节设置")
            if "password" in values or "pass" in values:
                raise MailConfigError(f"配置文件 {path} 中写有密码：密码不能写在文件里（会随工作簿一起被复制、发送），"
                                      f"请删除该行，改用环境变量 {ENV_PASSWORD}")
            unknown = sorted(set(values) - set(keys))
            if unknown:
                raise MailConfigError(f"配置文件 {path} 的 [{section}] 中有无法识别的设置：{'、'.join(unknown)}；"
                                      f"可用的设置：{'、'.join(keys)}")
            for key, value in values.items():
                if key == "ca_file" and isinstance(value, str) and value:
                    value = str((path.parent / value).expanduser()) if not Path(value).expanduser().is_absolute() else value
                target[key] = value
    for key, var in (("host", ENV_HOST), ("port", ENV_PORT), ("security", ENV_SECURITY), ("user", ENV_USER),
                     ("from", ENV_FROM)):
        if env.get(var, "").strip():
            smtp[key] = env[var].strip()
    where = "、".join(str(p) for p in files) or "环境变量"
    settings = MailSettings(
        smtp=_smtp_settings(smtp, env.get(ENV_PASSWORD) or None, where),
        to=tuple(_address_list(mail.get("to", ()), "[mail] to", where)),
        cc=tuple(_address_list(mail.get("cc", ()), "[mail] cc", where)),
        subject=_template(mail.get("subject", DEFAULT_SUBJECT), "[mail] subject", where),
        body=_template(mail.get("body", DEFAULT_BODY), "[mail] body", where),
        sources=tuple(files),
    )
    check_template(settings.subject, "邮件主题")
    check_template(settings.body, "邮件正文")
    return settings


def _template(value, what: str, where: str) -> str:
    if not isinstance(value, str):
        raise MailConfigError(f"{where} 中的 {what} 应为文字")
    return value


def _smtp_settings(raw: dict, password: str | None, where: str) -> SmtpSettings:
    def text(key: str) -> str | None:
        v = raw.get(key)
        if v is None:
            return None
        if not isinstance(v, (str, int)):
            raise MailConfigError(f"{where} 中的 [smtp] {key} 应为文字")
        return str(v).strip() or None

    security = (text("security") or "starttls").lower()
    if security not in SECURITY_MODES:
        raise MailConfigError(f"SMTP 加密方式“{raw.get('security')}”无法识别（{where} 或 {ENV_SECURITY}）；"
                              f"应为 starttls（通常 587 端口）、ssl（通常 465 端口）或 none（不加密，仅限内网）")
    port = None
    if raw.get("port") not in (None, ""):
        try:
            port = int(str(raw["port"]).strip())
        except ValueError:
            port = -1
        if not 0 < port < 65536:
            raise MailConfigError(f"SMTP 端口“{raw['port']}”无效（{where} 或 {ENV_PORT}）：应为 1–65535 的整数，如 465 或 587")
    sender = text("from")
    if sender:
        try:
            sender = format_address(sender)
        except ValueError as exc:
            raise MailConfigError(f"发件人地址无效（[smtp] from 或 {ENV_FROM}）：{exc}") from exc
    user = text("user")
    if not (user or "").isascii() or not (password or "").isascii():
        raise MailConfigError("SMTP 用户名和密码只能包含英文字母、数字和半角符号（SMTP 登录的限制）；"
                              "企业邮箱可在网页版设置中生成“客户端专用密码/授权码”使用")
    verify = raw.get("verify", True)
    if not isinstance(verify, bool):
        raise MailConfigError(f"{where} 中的 [smtp] verify 应为 true 或 false")
    ca_file = text("ca_file")
    if ca_file and not Path(ca_file).is_file():
        raise MailConfigError(f"找不到证书文件 {ca_file}（[smtp] ca_file）")

    def number(key: str, default, kind):
        v = raw.get(key, default)
        try:
            v = kind(v)
        except (TypeError, ValueError):
            raise MailConfigError(f"{where} 中的 [smtp] {key} 应为数字") from None
        if v < 0:
            raise MailConfigError(f"{where} 中的 [smtp] {key} 不能为负数")
        return v

    return SmtpSettings(host=text("host"), port=port, security=security, user=user, password=password,
                        sender=sender, timeout=number("timeout", DEFAULT_TIMEOUT, float) or DEFAULT_TIMEOUT,
                        verify=verify, ca_file=Path(ca_file) if ca_file else None,
                        retries=min(number("retries", DEFAULT_RETRIES, int), 10),
                        retry_delay=min(number("retry_delay", DEFAULT_RETRY_DELAY, float), 300.0))


def _address_list(value, what: str, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise MailConfigError(f"{where} 中的 {what} 应为邮箱地址或地址列表")
    return formatted_addresses(items, f"{where} 中的 {what}")


def formatted_addresses(items: list[str], label: str) -> list[str]:
    """Every address in items (cells or options may hold several), formatted; anything invalid is a config error."""
    out = []
    try:
        pieces = split_addresses(items)
    except ValueError as exc:
        raise MailConfigError(f"{label}：{exc}") from None
    for raw in pieces:
        try:
            out.append(format_address(raw))
        except ValueError as exc:
            raise MailConfigError(f"{label}：{exc}") from None
    return out


# ---- templates ----------------------------------------------------------------------
def check_template(text: str, what: str) -> None:
    """Raise MailConfigError naming every placeholder that is not one of PLACEHOLDERS."""
    available = "、".join("{" + p + "}" for p in PLACEHOLDERS)
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise MailConfigError(f"{what}模板有误（{exc}）：占位符写作 {{项目名称}}，文字中的大括号请写成 {{{{ 和 }}}}；"
                              f"可用的占位符：{available}") from None
    unknown = [name for name, _, _ in fields if name not in PLACEHOLDERS]
    if unknown:
        shown = "、".join("{" + n + "}" for n in dict.fromkeys(unknown))
        raise MailConfigError(f"{what}模板中的占位符 {shown} 无法识别；可用的占位符：{available}"
                              "（文字中的大括号请写成 {{ 和 }}）")
    odd = [name for name, spec, conv in fields if spec or conv]
    if odd:
        raise MailConfigError(f"{what}模板中的占位符 {{{odd[0]}}} 带有格式说明，请只写 {{{odd[0]}}}")


def render(text: str, values: Mapping[str, str]) -> str:
    """The template with every placeholder replaced by its value made one line of plain text (see one_line)."""
    if not str(values.get("年度", "") or "").strip():
        text = text.replace("{年度}年度", "")  # no year typed: "项目支出绩效自评表", never "年度项目支出…"
    return text.format_map({p: one_line(str(values.get(p, "") or "")) for p in PLACEHOLDERS})


# ---- untrusted text -----------------------------------------------------------------------
# Project names, units and 电子邮箱 cells come from the workbook: any of them may hold line
# breaks, control characters or text made to look like mail headers. Text for a header (and
# for the body's placeholders, the send log and the console) goes through one_line; text
# quoted back to the user in a message goes through shown.
_KEEP_FORMAT = {"\u200c", "\u200d"}  # zero-width (non-)joiner: part of how some scripts and emoji are written


def one_line(text: str) -> str:
    """text as one line of printable characters: every kind of whitespace and line break (CR, LF, NEL,
    U+2028…) becomes one space, control, format and surrogate characters are dropped."""
    out = []
    for ch in text or "":
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs") or (unicodedata.category(ch) == "Cf" and ch not in _KEEP_FORMAT):
            continue
        else:
            out.append(ch)
    return re.sub(" {2,}", " ", "".join(out)).strip()


def shown(text: str, limit: int = 80) -> str:
    """Untrusted text for a message to the user: control, format and line-break characters written
    as escapes (\\n, \\r, \\x1b, \\u202e…) so they neither act on the terminal nor hide, at most limit characters."""
    out = []
    for ch in text or "":
        if ch == " " or not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")):
            out.append(ch)
        elif ch in "\r\n\t":
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t"}[ch])
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- addresses ------------------------------------------------------------------------
# A 电子邮箱 cell, --to/--cc and the config's lists hold addresses and nothing else:
#   list    = item *(separator item)       separator: , ; ， ； 、 line breaks, or (between bare
#                                           addresses) spaces and tabs
#   item    = addr-spec | [display-name] "<" addr-spec ">"
#   display = "quoted text" | plain text without < > "
# A mistyped address (全角＠, no @…) is an error about that address alone. Anything else —
# control characters, a line break inside a quoted name or <…>, text shaped like a mail
# header (“Bcc: …”), stray quotes or angle brackets — means the text is not an address list:
# HostileAddressText, and nothing is sent on its strength.
_SEPARATORS = ",;，；、"
_LINE_BREAKS = "\r\n\u2028\u2029"
_IGNORABLE = {"\u200b": " ", "\u2060": " ", "\ufeff": " "}  # zero-width space, word joiner, BOM (pasted text)
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_ADDR_SPEC = re.compile(rf"{_LOCAL}@{_DOMAIN}")
_ANGLE_FORM = re.compile(r'\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<plain>[^<>"]*?))\s*<(?P<addr>[^<>"]*)>\s*', re.S)
_HEADER_LIKE = re.compile(r"\s*(?P<field>[A-Za-z][A-Za-z0-9-]*)\s*:")


ADDRESSES_ONLY = "只能填写邮箱地址，多个地址用逗号、分号、空格或换行分隔"


class HostileAddressText(ValueError):
    """Text given as email addresses that holds something other than addresses; str(exc) is for the user."""

    def __init__(self, text: str, why: str):
        self.text, self.why = text, why
        super().__init__(f"“{shown(text)}”中除邮箱地址外还有其他内容（{why}）；{ADDRESSES_ONLY}")


def _bad_char(ch: str) -> bool:
    if ch in "\t" or ch in _LINE_BREAKS or ch in _IGNORABLE:
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def _check_chars(text: str) -> None:
    bad = "".join(dict.fromkeys(ch for ch in text if _bad_char(ch)))
    if bad:
        raise HostileAddressText(text, f"含有控制字符 {shown(bad)}")


def _check_header_like(piece: str, whole: str) -> None:
    m = _HEADER_LIKE.match(piece)
    if m and m["field"].lower() != "mailto":
        raise HostileAddressText(whole, f"“{shown(m.group(0).strip())}”像是邮件头")


def split_addresses(values: Iterable[str] | str) -> list[str]:
    """The items (addresses, “名称 <地址>”) in cells or options: separated by , ; ， ； 、 or line breaks,
    bare addresses also by spaces. Raises HostileAddressText when the text is not just addresses."""
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        out += _split_one(value or "")
    return out


def _split_one(text: str) -> list[str]:
    _check_chars(text)
    work = "".join(_IGNORABLE.get(ch, ch) for ch in text)
    pieces, current, quoted, angle = [], [], False, False
    i = 0
    while i < len(work):
        ch = work[i]
        if quoted:
            if ch in _LINE_BREAKS or (ch == "\\" and i + 1 < len(work) and work[i + 1] in _LINE_BREAKS):
                raise HostileAddressText(text, "引号中的名称含有换行")
            current.append(ch)
            if ch == "\\" and i + 1 < len(work):
                current.append(work[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
        elif angle:
            if ch in _LINE_BREAKS:
                raise HostileAddressText(text, "尖括号 <…> 中含有换行")
            current.append(ch)
            if ch == ">":
                angle = False
        elif ch in _SEPARATORS or ch in _LINE_BREAKS:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
            quoted, angle = ch == '"', ch == "<"
        i += 1
    if quoted:
        raise HostileAddressText(text, "引号不成对")
    if angle:
        raise HostileAddressText(text, "尖括号 < 没有对应的 >")
    pieces.append("".join(current))
    out = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if any(c in piece for c in '<>"'):
            _check_header_like(piece, text)
            out.append(piece)
        else:
            for token in piece.split():
                _check_header_like(token, text)
                out.append(token)
    return out


def _parse_item(text: str) -> tuple[str, str]:
    """(display name, address as written) of one item; raises HostileAddressText for anything but one address."""
    _check_chars(text)
    work = "".join(_IGNORABLE.get(ch, ch) for ch in text).strip()
    if any(ch in work for ch in _LINE_BREAKS):
        raise HostileAddressText(text, "含有换行")
    _check_header_like(work, text)
    if not any(c in work for c in '<>"'):
        return "", work
    m = _ANGLE_FORM.fullmatch(work)
    if not m:
        raise HostileAddressText(text, "引号或尖括号的用法无法识别，应写作 名称 <地址>")
    if m["quoted"] is not None:
        name = re.sub(r"\\(.)", r"\1", m["quoted"], flags=re.S)
    else:
        name = m["plain"]
    return re.sub(r"\s+", " ", name).strip(), m["addr"].strip()


def format_address(raw: str) -> str:
    """“名称 <地址>” or “地址”, checked; raises ValueError with a Chinese reason
    (HostileAddressText when raw is not an address at all: see split_addresses)."""
    text = (raw or "").strip()
    name, addr = _parse_item(text)
    wide = sorted({ch for ch in text if "\uff01" <= ch <= "\uff5e" or ch == "\u3000"})
    if wide and "<" not in text:
        raise ValueError(f"“{shown(text)}”不是有效的邮箱地址：含全角字符“{''.join(wide)}”，请改用半角（英文输入法）")
    if not addr:
        raise ValueError(f"“{shown(text)}”不是有效的邮箱地址")
    if any("\uff01" <= ch <= "\uff5e" for ch in addr):
        raise ValueError(f"“{shown(text)}”不是有效的邮箱地址：含全角字符，请改用半角（英文输入法）")
    local, at, domain = addr.rpartition("@")
    if at and domain and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"“{shown(text)}”不是有效的邮箱地址：域名“{shown(domain)}”无效") from None
        addr = f"{local}@{domain}"
    if not _ADDR_SPEC.fullmatch(addr):
        reason = "缺少 @" if "@" not in addr else "格式不正确"
        raise ValueError(f"“{shown(text)}”不是有效的邮箱地址（{reason}）")
    if not name:
        return addr
    local, _, domain = addr.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def _split_formatted(formatted: str) -> tuple[str, str]:
    """(display name, address) of what format_address returned."""
    m = _ANGLE_FORM.fullmatch(formatted)
    if not m:
        return "", formatted.strip()
    name = re.sub(r"\\(.)", r"\1", m["quoted"], flags=re.S) if m["quoted"] is not None else m["plain"].strip()
    return name, m["addr"].strip()


def address_of(formatted: str) -> str:
    return _split_formatted(formatted)[1]


def _address_object(formatted: str) -> Address:
    name, addr = _split_formatted(formatted)
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


# ---- message ----------------------------------------------------------------------------
# Serialise with this policy: programmatic headers folded at 78 as usual, our
# pre-folded attachment headers left exactly as written.
WIRE_POLICY = email_policy.SMTP.clone(refold_source="none")


def build_message(*, subject: str, body: str, sender: str | None, to: list[str], cc: list[str],
                  attachments: list[Path], draft: bool = False, now: datetime | None = None) -> EmailMessage:
    """The message; sender, to and cc as format_address returns them. Every header is built from clean
    text or address objects (never by pasting strings into header syntax) and checked once written:
    raises UnsafeMessage rather than produce a header that says something else."""
    msg = EmailMessage(policy=WIRE_POLICY)
    msg["Subject"] = one_line(subject)
    if sender:
        msg["From"] = _address_object(sender)
    if to:
        msg["To"] = [_address_object(a) for a in to]
    if cc:
        msg["Cc"] = [_address_object(a) for a in cc]
    msg["Date"] = format_datetime((now or datetime.now()).astimezone())
    domain = address_of(sender).rpartition("@")[2] if sender else ""
    msg["Message-ID"] = make_msgid(domain=domain or "xlperf.localhost")
    if draft:
        msg["X-Unsent"] = "1"  # Outlook opens the .eml as a message ready to send
    msg["X-Mailer"] = "xlperf"
    msg.set_content(body.encode("utf-8", "replace").decode("utf-8"), charset="utf-8", cte="base64")
    if attachments:
        msg.make_mixed()
        for path in attachments:
            suffix = path.suffix.lower()
            maintype, subtype = PDF_TYPE if suffix == ".pdf" else DOCX_TYPE if suffix == ".docx" else XLSX_TYPE
            msg.attach(attachment_part(path.read_bytes(), path.name, maintype, subtype))
    check_message(msg, [*to, *cc])
    return msg


class UnsafeMessage(ValueError):
    """A message whose written headers would not say what was meant; str(exc) is for the user."""


_TOP_HEADERS = {"subject", "from", "to", "cc", "date", "message-id", "x-unsent", "x-mailer", "mime-version",
                "content-type", "content-transfer-encoding"}


def check_message(msg: EmailMessage, recipients: list[str]) -> None:
    """Read the message back as a mail client would: only our headers, none spanning lines,
    and To/Cc naming exactly the recipients meant."""
    head = BytesHeaderParser(policy=email_policy.default).parsebytes(message_bytes(msg))
    names = {k.lower() for k in head.keys()}
    if names - _TOP_HEADERS:
        raise UnsafeMessage(f"邮件头中出现了意外的字段（{shown('、'.join(sorted(names - _TOP_HEADERS)))}）")
    for key, value in head.items():
        if "\r" in str(value) or "\n" in str(value):
            raise UnsafeMessage(f"邮件头 {key} 含有换行")
    got = [a.addr_spec.lower() for key in ("To", "Cc") if head[key] is not None for a in head[key].addresses]
    meant = [address_of(a).lower() for a in recipients]
    if sorted(got) != sorted(meant):
        raise UnsafeMessage("写出的收件人与要发送的收件人不一致")


def attachment_part(data: bytes, filename: str, maintype: str, subtype: str) -> MIMEBase:
    """A base64 attachment whose Chinese file name survives every common client (see the module doc)."""
    filename = one_line(filename) or f"附件.{subtype}"
    part = MIMEBase(maintype, subtype)
    part.set_payload(data)
    encoders.encode_base64(part)
    del part["MIME-Version"]
    del part["Content-Type"]
    del part["Content-Transfer-Encoding"]
    # Inserted as raw, already folded lines (≤ 78 characters): WIRE_POLICY writes them as they are.
    part["Content-Type"] = f"{maintype}/{subtype};\n name=\"{_rfc2047(filename)}\""
    part["Content-Transfer-Encoding"] = "base64"
    part["Content-Disposition"] = "attachment;\n " + _rfc2231("filename", filename)
    return part


def _rfc2047(text: str) -> str:
    if re.fullmatch(r'[\x20-\x7e]*', text) and '"' not in text and "\\" not in text:
        return text
    return Header(text, "utf-8").encode(maxlinelen=66, linesep="\n")


def _rfc2231(param: str, value: str, width: int = 70) -> str:
    """param*=utf-8''… (RFC 2231), split into param*0*=, param*1*=… lines when long."""
    if value.isascii() and not re.search(r'[\x00-\x1f"\\;]', value) and len(value) + len(param) < width:
        return f'{param}="{value}"'
    encoded = "utf-8''" + quote(value, safe="")
    if len(encoded) + len(param) + 3 <= width:
        return f"{param}*={encoded}"
    # Split between characters, never inside one: some clients decode each segment on its own.
    limit = width - len(param) - 6
    chunks, current = [], "utf-8''"
    for ch in value:
        piece = quote(ch, safe="")
        if len(current) + len(piece) > limit and current not in ("", "utf-8''"):
            chunks.append(current)
            current = ""
        current += piece
    chunks.append(current)
    return ";\n ".join(f"{param}*{i}*={chunk}" for i, chunk in enumerate(chunks))


def message_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=WIRE_POLICY)


# ---- send log -------------------------------------------------------------------------------
def send_log_path(book: Path) -> Path:
    book = Path(book)
    return book.with_name(f"{book.stem}{SEND_LOG_SUFFIX}")


class SendLog:
    """The CSV send log beside the workbook (UTF-8 with BOM, so Excel opens it in Chinese).

    Every field that Excel or LibreOffice would take for a formula (starting with = + - @, a tab
    or a carriage return: OWASP's CSV-injection rule) is written with a leading apostrophe, as is
    a field that itself starts with one (so the prefix is never ambiguous); reading undoes it.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        # (exported file name, address lower-case) → (when, 已发送 or 未确认); 已发送 wins
        self.records: dict[tuple[str, str], tuple[str, str]] = {}
        if self.path.is_file():
            try:
                with open(self.path, encoding="utf-8-sig", newline="") as fh:
                    for row in csv.DictReader(fh):
                        row = {k: csv_unescape(v) for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}
                        self._note(row.get("附件"), row.get("收件人"), row.get("时间"), row.get("结果"))
            except (OSError, csv.Error, UnicodeDecodeError) as exc:
                raise MailConfigError(f"发送记录 {self.path} 无法读取（{exc}）；请修复或移走该文件后重试") from exc

    def _note(self, files: str | None, address: str | None, when: str | None, result: str | None) -> None:
        if result not in (SENT, UNCONFIRMED) or not (address or "").strip():
            return
        key = (_first_file(files), address.strip().lower())
        if result == SENT or self.records.get(key, ("", ""))[1] != SENT:
            self.records[key] = (when or "", result)

    def previous(self, file_name: str, address: str) -> tuple[str, str] | None:
        """(when, 已发送 or 未确认) if the project exported as file_name went, or may have gone, to address."""
        return self.records.get((file_name, address.lower()))

    def when_sent(self, file_name: str, address: str) -> str | None:
        """When the project exported as file_name was sent to address (confirmed by the server), or None."""
        found = self.previous(file_name, address)
        return found[0] if found and found[1] == SENT else None

    def append(self, rows: list[dict]) -> None:
        if not rows:
            return
        new = not self.path.is_file() or self.path.stat().st_size == 0
        with open(self.path, "a", encoding="utf-8-sig" if new else "utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=LOG_COLUMNS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerows({k: csv_escape(v) for k, v in row.items()} for row in rows)
            fh.flush()
            os.fsync(fh.fileno())
        for row in rows:
            self._note(row["附件"], row["收件人"], row["时间"], row["结果"])


CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_escape(value) -> str:
    """value as a CSV field no spreadsheet evaluates: a leading ' before = + - @ tab CR (and before ')."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START + ("'",)) else text


def csv_unescape(text: str) -> str:
    """The value csv_escape was given (a field without the prefix is returned as it is)."""
    return text[1:] if text[:1] == "'" and text[1:2] and text[1:].startswith(CSV_FORMULA_START + ("'",)) else text


def _first_file(files: str | None) -> str:
    return (files or "").split("；")[0].strip()


# ---- the plan ----------------------------------------------------------------------------------
@dataclass
class Failure:
    project: str
    recipient: str | None
    reason: str


@dataclass
class Delivery:
    """One project's message and who still has to receive it."""

    project: str
    stem: str
    message: EmailMessage
    recipients: list[tuple[str, str]]  # (address, 收件人/抄送) to send to now
    attachments: list[Path]
    digest: str


@dataclass
class MailReport:
    """What happened, per project and recipient. A recipient the message may or may not have reached
    (the connection dropped after the whole message was sent, before the server's reply) is in
    unconfirmed and, so that the run is not taken as a success, in failures too."""

    deliveries: list[Delivery] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (project, address)
    already: list[tuple[str, str, str]] = field(default_factory=list)  # (project, address, when)
    failures: list[Failure] = field(default_factory=list)
    unconfirmed: list[tuple[str, str, str]] = field(default_factory=list)  # (project, address, why) in this run
    unconfirmed_before: list[tuple[str, str, str]] = field(default_factory=list)  # (project, address, when): not resent
    drafts: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    log: Path | None = None
    dry_run: bool = False


@dataclass
class _Listed:
    """A 项目清单 row: its values, and where its 电子邮箱 cell is (“项目清单!G2”)."""

    record: dict[str, str]
    email_cell: str


def _project_list(wb) -> dict[str, _Listed]:
    """项目清单 rows keyed by input sheet name and by project name (as readers.input_sheet.read_project_list
    reads them), the 电子邮箱 cell's text as typed (not stripped) and where that cell is."""
    from openpyxl.utils import get_column_letter

    if L.PROJECT_LIST_SHEET not in wb.sheetnames:
        return {}
    ws = wb[L.PROJECT_LIST_SHEET]
    column = get_column_letter(L.PROJECT_LIST_KEYS.index("email") + 1)
    out: dict[str, _Listed] = {}
    rows = ws.iter_rows(min_row=L.PROJECT_LIST_FIRST_ROW, max_col=len(L.PROJECT_LIST_KEYS), values_only=True)
    for number, row in enumerate(rows, start=L.PROJECT_LIST_FIRST_ROW):
        record = {k: ("" if v is None else str(v) if k == "email" else str(v).strip())
                  for k, v in zip(L.PROJECT_LIST_KEYS, row)}
        if not record.get("name") and not record.get("sheet"):
            continue
        for key in (record.get("sheet"), record.get("name")):
            if key and key not in out:
                out[key] = _Listed(record, f"{L.PROJECT_LIST_SHEET}!{column}{number}")
    return out


def _text(value) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def _values(entry: dict, listed: dict) -> dict[str, str]:
    """The placeholders' values, each one line of plain text (they come from the workbook)."""
    values = {"项目名称": _text(entry.get("name")), "总得分": _text(entry.get("total")),
              "评价等级": _text(entry.get("grade")),
              "预算单位": _text(entry.get("unit")) or listed.get("unit", ""),
              "年度": _text(entry.get("year")) or listed.get("year", ""), "主管部门": listed.get("department", "")}
    return {k: one_line(v) for k, v in values.items()}


def _plain_file_name(name) -> bool:
    """A file name as export writes it into its folder: no folders, no control characters."""
    return (isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name
            and "/" not in name and "\\" not in name and one_line(name) == name)


def plan(book: Path, outdir: Path, settings: MailSettings, to: list[str], cc: list[str], resend: bool,
         log: SendLog, draft: bool) -> MailReport:
    """Everything that can be decided without a server: messages, recipients, and per-project problems."""
    from .workbook_io import open_workbook

    report = MailReport(dry_run=draft, log=log.path)
    manifest = read_manifest(outdir, book)
    wb = open_workbook(book, read_only=True)
    try:
        listed_all = _project_list(wb)
    finally:
        wb.close()
    if manifest.get("source_sha256") and manifest["source_sha256"] != file_sha256(book):
        report.warnings.append(f"{Path(book).name} 在导出（{one_line(_text(manifest.get('exported_at')))}）之后被修改过；"
                               f"如修改了项目数据，请先重新运行 xlperf export，再发送")
    extra_to = [a for a in (*to, *settings.to)]
    extra_cc = [a for a in (*cc, *settings.cc)]
    for entry in manifest["projects"]:
        if not isinstance(entry, dict):
            report.failures.append(Failure("", None, "导出记录中有一项无法识别，已跳过；请重新运行 xlperf export"))
            continue
        raw_name = _text(entry.get("name"))
        name = one_line(raw_name)
        if entry.get("unused") is True:
            continue  # a project sheet nobody filled in: nothing to send, and nothing wrong
        if entry.get("skipped") or not entry.get("xlsx"):
            why = one_line(_text(entry.get("skipped"))) or "导出记录中没有文件"
            report.failures.append(Failure(name, None, f"未导出，未发送：{why}"))
            continue
        # the 附件1 workbook, its PDF, and the Word 自评报告 (and its PDF) when export wrote them (--report)
        names = [entry["xlsx"]] + [entry[k] for k in ("pdf", "report", "report_pdf") if entry.get(k)]
        bad = [n for n in names if not _plain_file_name(n)]
        if bad:
            report.failures.append(Failure(name, None, f"导出记录中的文件名“{shown(_text(bad[0]))}”无效，未发送；"
                                                       "请重新运行 xlperf export"))
            continue
        files = [outdir / n for n in names]
        missing = [p for p in files if not p.is_file()]
        if missing:
            report.failures.append(Failure(name, None, f"附件不存在：{'、'.join(str(p) for p in missing)}；"
                                                       "请重新运行 xlperf export 后再发送"))
            continue
        sheet = entry.get("sheet") if isinstance(entry.get("sheet"), str) else ""
        listed = listed_all.get(sheet) or listed_all.get(raw_name)
        record = listed.record if listed else {}
        where = (f"{listed.email_cell}（“电子邮箱”列）" if listed
                 else f"{L.PROJECT_LIST_SHEET}工作表“电子邮箱”列")
        cell = record.get("email", "")
        sheet_to, hostile = [], None
        try:
            for raw in split_addresses(cell):
                try:
                    sheet_to.append(format_address(raw))
                except HostileAddressText:
                    raise
                except ValueError as exc:
                    report.failures.append(Failure(name, shown(raw), f"{exc}（{where}）"))
        except HostileAddressText as exc:
            hostile = exc
        if hostile is not None:
            report.failures.append(Failure(name, shown(cell), f"{where}中除邮箱地址外还有其他内容（{hostile.why}），"
                                                              "该项目的邮件未发送给任何人（包括 --to/--cc 和配置文件中的"
                                                              f"收件人）；单元格中{ADDRESSES_ONLY}"))
            continue
        header_to = _unique([*sheet_to, *extra_to])
        header_cc = [a for a in _unique(extra_cc) if address_of(a).lower() not in {address_of(t).lower() for t in header_to}]
        if not header_to and not header_cc:
            if not any(f.project == name for f in report.failures):
                report.failures.append(Failure(name, None, f"没有收件人：请在{L.PROJECT_LIST_SHEET}工作表的“电子邮箱”列填写，"
                                                           "或使用 --to 指定"))
            continue
        recipients = []
        for formatted, kind in [(a, "收件人") for a in header_to] + [(a, "抄送") for a in header_cc]:
            addr = address_of(formatted)
            before = None if resend else log.previous(names[0], addr)
            if before is None:
                recipients.append((addr, kind))
            elif before[1] == UNCONFIRMED:
                report.already.append((name, addr, f"{before[0]}，发送结果未确认，本次未重发"))
                report.unconfirmed_before.append((name, addr, before[0]))
            else:
                report.already.append((name, addr, before[0]))
        if not recipients:
            continue
        values = _values(entry, record)
        try:
            message = build_message(subject=render(settings.subject, values), body=render(settings.body, values),
                                    sender=settings.smtp.sender, to=header_to, cc=header_cc, attachments=files,
                                    draft=draft)
        except (ValueError, UnicodeError) as exc:  # UnsafeMessage, or text the email package cannot write
            report.failures.append(Failure(name, None, f"邮件无法安全生成（{exc}），未发送"))
            continue
        report.deliveries.append(Delivery(project=name, stem=Path(names[0]).stem, message=message,
                                          recipients=recipients, attachments=files, digest=file_sha256(files[0])))
    if report.unconfirmed_before:
        report.warnings.append(f"{len(report.unconfirmed_before)} 个收件人上次的发送结果未确认（邮件已发出，但服务器确认前连接中断，"
                               "对方可能已经收到），为免重复，本次没有重发；请向收件人确认，确未收到时加 --resend 重新发送")
    return report


def _unique(addresses: list[str]) -> list[str]:
    seen, out = set(), []
    for a in addresses:
        key = address_of(a).lower()
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


# ---- sending ----------------------------------------------------------------------------------
class FatalSmtpError(Exception):
    """Nothing more can be sent in this run (login refused, server unreachable, certificate rejected)."""


class _Temporary(Exception):
    """A failure worth retrying."""


class SmtpConnection:
    """One SMTP session, opened on first use and reopened after a dropped connection."""

    def __init__(self, settings: SmtpSettings):
        self.s = settings
        self.smtp: smtplib.SMTP | None = None
        self.opened = False  # a session was established at least once in this run

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.s.ca_file) if self.s.ca_file else None)
        if not self.s.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def get(self) -> smtplib.SMTP:
        self.reset_if_closed()
        if self.smtp is None:
            self.smtp = self._open()
            self.opened = True
        return self.smtp

    def _open(self) -> smtplib.SMTP:
        s = self.s
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)
        except Exception as exc:
            raise _connect_error(exc, s) from None
        try:
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise FatalSmtpError(f"邮件服务器 {s.where} 不支持 STARTTLS 加密；请确认端口"
                                         "（465 端口请设置 security = \"ssl\"），不要在公网上使用不加密的连接")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.user:
                if not smtp.has_extn("auth"):
                    raise FatalSmtpError(f"邮件服务器 {s.where} 不接受登录（未提供 AUTH）"
                                         + ("；多数服务器只在加密后允许登录，请设置 security = \"starttls\" 或 \"ssl\""
                                            if s.security == "none" else ""))
                smtp.login(s.user, s.password or "")
        except FatalSmtpError:
            _close(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise FatalSmtpError(f"邮件服务器拒绝登录（用户 {s.user}）：用户名或密码错误，或未开启 SMTP 服务；"
                                 f"企业邮箱通常要在网页版设置中开启 SMTP 并使用“客户端专用密码/授权码”"
                                 f"（服务器答复：{_reply(exc)}）") from None
        except Exception as exc:
            _close(smtp)
            raise _connect_error(exc, s) from None
        return smtp

    def reset_if_closed(self) -> None:
        """Forget a session the server or a failed exchange has closed (the next get() opens a new one)."""
        if self.smtp is not None and getattr(self.smtp, "sock", None) is None:
            self.smtp = None

    def reset(self) -> None:
        if self.smtp is not None:
            _close(self.smtp)
        self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:
                _close(self.smtp)
        self.smtp = None


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except Exception:
        pass


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}".strip()


def _connect_error(exc: Exception, s: SmtpSettings) -> Exception:
    """A Chinese explanation of why the server could not be reached; temporary unless retrying cannot help."""
    where = s.where
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FatalSmtpError(f"邮件服务器 {where} 的证书无法验证（{exc.verify_message or exc}）；如果是单位内部使用自签名证书的服务器，"
                              "请在 xlperf.toml 的 [smtp] 中设置 ca_file = \"证书文件路径\"（或 verify = false，不推荐）")
    if isinstance(exc, ssl.SSLError):
        return FatalSmtpError(f"与邮件服务器 {where} 建立加密连接失败（{exc.reason or exc}）：请检查加密方式与端口是否匹配"
                              "（465 端口通常为 security = \"ssl\"，587 端口通常为 \"starttls\"）")
    if isinstance(exc, socket.gaierror):
        return FatalSmtpError(f"找不到邮件服务器 {s.host}（域名无法解析）：请检查 SMTP 服务器地址和网络")
    if isinstance(exc, ConnectionRefusedError):
        return _Temporary(f"无法连接邮件服务器 {where}：连接被拒绝（服务器地址或端口不对，或服务器未运行）")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return _Temporary(f"连接邮件服务器 {where} 超时（{s.timeout:g} 秒）：请检查网络、防火墙和端口")
    if isinstance(exc, smtplib.SMTPConnectError):
        return _Temporary(f"邮件服务器 {where} 拒绝连接：{_reply(exc)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return FatalSmtpError(f"邮件服务器 {where} 不支持所需功能：{exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return (_Temporary if 400 <= exc.smtp_code < 500 else FatalSmtpError)(f"邮件服务器 {where} 答复错误：{_reply(exc)}")
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return _Temporary(f"与邮件服务器 {where} 的连接中断（{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}）")
    return FatalSmtpError(f"连接邮件服务器 {where} 时出错：{type(exc).__name__}: {exc}")


class _Refused(Exception):
    """The server refused the transaction as a whole: at MAIL (the sender), RCPT 421 (closing) or DATA."""

    def __init__(self, stage: str, code: int, text: str, refused: dict | None = None):
        super().__init__(f"{code} {text}")
        self.stage, self.code, self.text, self.refused = stage, code, text, refused or {}


class _Unconfirmed(Exception):
    """The whole message, final dot included, was sent; the server's reply never came."""

    def __init__(self, accepted: list[str], refused: dict, why: str):
        super().__init__(why)
        self.accepted, self.refused, self.why = accepted, refused, why


def _text_of(resp) -> str:
    """A server's reply as one line of plain text (it is logged and printed)."""
    return one_line(resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp))


def _dot_stuffed(data: bytes) -> bytes:
    """The message as sent after DATA (RFC 5321 4.5.2): lines starting with a dot doubled, then CRLF.CRLF."""
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _end_transaction(smtp: smtplib.SMTP, code: int) -> None:
    if code == 421:  # the server is closing the session
        _close(smtp)
        return
    try:
        smtp.rset()
    except Exception:
        _close(smtp)


def _transaction(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> tuple[list[str], dict]:
    """One SMTP transaction, step by step (smtplib.sendmail cannot tell a reply lost after the final
    dot from a failure before it): (accepted recipients, {refused recipient: (code, reply)}).
    Raises _Refused, _Unconfirmed, or smtplib/OS errors for a connection lost before the final dot."""
    smtp.ehlo_or_helo_if_needed()
    size = f" SIZE={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    code, resp = smtp.docmd("mail", f"FROM:<{sender}>{size}")
    if code != 250:
        _end_transaction(smtp, code)
        raise _Refused("mail", code, _text_of(resp))
    accepted: list[str] = []
    refused: dict[str, tuple[int, str]] = {}
    for addr in recipients:
        code, resp = smtp.docmd("rcpt", f"TO:<{addr}>")
        if code in (250, 251):
            accepted.append(addr)
            continue
        refused[addr] = (code, _text_of(resp))
        if code == 421:
            _close(smtp)
            raise _Refused("rcpt", code, _text_of(resp), refused)
    if not accepted:
        _end_transaction(smtp, 0)
        return [], refused
    code, resp = smtp.docmd("data")
    if code != 354:
        _end_transaction(smtp, code)
        raise _Refused("data", code, _text_of(resp), refused)
    smtp.send(_dot_stuffed(data))  # an error here: the final dot never left, nothing was delivered
    try:
        code, resp = smtp.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        _close(smtp)
        raise _Unconfirmed(accepted, refused, str(exc) or type(exc).__name__) from None
    if code != 250:
        _end_transaction(smtp, code)
        raise _Refused("data", code, _text_of(resp), refused)
    return accepted, refused


@dataclass
class Outcome:
    """What happened to each recipient of one message."""

    delivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # address → why
    unconfirmed: dict[str, str] = field(default_factory=dict)  # address → why
    fatal: str | None = None  # nothing more can be sent in this run


UNCONFIRMED_NOTE = ("未确认：邮件已完整发出，但服务器确认之前连接中断（{why}），对方可能已经收到；"
                    "为免重复，以后运行不会自动重发，请向收件人确认，确未收到时加 --resend 重新发送")


def _send_one(conn: SmtpConnection, d: Delivery, sender_addr: str, retries: int, delay: float,
              sleep: Callable[[float], None]) -> Outcome:
    """Send d to its recipients, saying per recipient what happened.

    All recipients go in one transaction; when the server refuses that transaction as a whole
    (at DATA, or closing the session at one recipient's RCPT) with more than one recipient in it,
    each recipient is then tried in a transaction of its own, so that one recipient's problem
    decides only that recipient. Temporary failures (4xx, dropped connections) are retried.
    """
    out = Outcome()
    data = message_bytes(d.message)
    pending = [addr for addr, _ in d.recipients]
    last: dict[str, str] = {}
    one_by_one = False
    attempt = 0

    def refusals(refused: dict) -> None:
        for addr, (code, text) in refused.items():
            reason = f"服务器拒绝收件人 {addr}：{code} {text}"
            if 400 <= code < 500:
                last[addr] = reason
            else:
                out.failed[addr] = reason

    while pending:
        split_now = False
        for batch in ([[a] for a in pending] if one_by_one else [list(pending)]):
            try:
                accepted, refused = _transaction(conn.get(), sender_addr, batch, data)
            except FatalSmtpError as exc:
                out.fatal = str(exc)
                break
            except _Temporary as exc:  # could not (re)connect
                conn.reset()
                for a in pending:
                    last[a] = str(exc)
                if not conn.opened and attempt == retries:  # never reached in this run: stop trying
                    out.fatal = f"{exc}（已重试 {retries} 次）" if retries else str(exc)
                break
            except _Unconfirmed as exc:
                conn.reset()
                for a in exc.accepted:
                    out.unconfirmed[a] = UNCONFIRMED_NOTE.format(why=exc.why)
                refusals(exc.refused)
            except _Refused as exc:
                conn.reset_if_closed()
                reply = f"{exc.code} {exc.text}".strip()
                if exc.stage == "mail":
                    if 400 <= exc.code < 500:
                        for a in batch:
                            last[a] = f"服务器暂时拒绝发件人 {sender_addr}：{reply}"
                        continue
                    out.fatal = f"邮件服务器拒绝发件人 {sender_addr}：{reply}（发件人地址应为登录的邮箱本身）"
                    break
                refusals({a: r for a, r in exc.refused.items() if not (exc.stage == "rcpt" and r[0] == 421)})
                undecided = [a for a in batch if a not in out.failed]
                if exc.stage == "rcpt":
                    why = f"服务器在收件人 {', '.join(exc.refused)} 处中断了会话：{reply}"
                else:
                    why = f"服务器拒收邮件：{reply}" + ("（附件可能过大）" if exc.code == 552 else "")
                if len(undecided) > 1:
                    split_now = True  # whose problem it is, is found out one by one
                    for a in undecided:
                        last[a] = why
                elif exc.stage == "rcpt" or 400 <= exc.code < 500:
                    for a in undecided:
                        last[a] = why
                else:
                    for a in undecided:
                        out.failed[a] = why
            except (smtplib.SMTPException, OSError) as exc:  # the connection failed before the final dot
                for a in batch:
                    last[a] = str(_connect_error(exc, conn.s))
                conn.reset()
            else:
                out.delivered += accepted
                refusals(refused)
        decided = {*out.delivered, *out.failed, *out.unconfirmed}
        pending = [a for a in pending if a not in decided]
        if out.fatal is not None:
            for a in pending:
                out.failed[a] = out.fatal
            return out
        if not pending:
            break
        if split_now and not one_by_one:
            one_by_one = True
            continue  # at once: not a retry
        attempt += 1
        if attempt > retries:
            break
        sleep(delay * 2 ** (attempt - 1))
    for a in pending:
        why = last.get(a, "原因不明")
        out.failed[a] = f"{why}（已重试 {retries} 次）" if retries else why
    return out


def send_mail(book: Path, outdir: Path | None = None, to: Iterable[str] = (), cc: Iterable[str] = (),
              dry_run: bool = False, resend: bool = False, config: Path | None = None,
              env: Mapping[str, str] | None = None, sleep: Callable[[float], None] = time.sleep,
              progress: Callable[[str, int, int], None] | None = None) -> MailReport:
    """Send (or with dry_run write as .eml) every exported project's message; see the module doc.

    Raises MailConfigError, export.ManifestError or UnreadableWorkbook before
    anything is sent; everything after that is reported in the MailReport.
    """
    from .export import safe_file_stem
    from .workbook_io import _check_path

    book = Path(book)
    _check_path(book)  # a missing file or a folder is said first, not as a missing export or SMTP setting
    outdir = Path(outdir) if outdir is not None else default_outdir(book)
    settings = load_settings(book, config, env)
    to_list = formatted_addresses(list(to), "--to")
    cc_list = formatted_addresses(list(cc), "--cc")
    s = settings.smtp
    if not dry_run:
        if not s.host:
            raise MailConfigError(f"没有设置 SMTP 服务器：请在 xlperf.toml 的 [smtp] 中设置 host，或设置环境变量 {ENV_HOST}"
                                  "（或先用 --dry-run 生成邮件草稿）")
        if not (s.sender or s.user):
            raise MailConfigError(f"没有设置发件人：请在 xlperf.toml 的 [smtp] 中设置 from，或设置环境变量 {ENV_FROM}")
        if s.user and not s.password:
            raise MailConfigError(f"已设置 SMTP 用户名 {s.user}，但没有密码：请设置环境变量 {ENV_PASSWORD}"
                                  "（企业邮箱常用“客户端专用密码/授权码”）；密码不要写在工作簿或配置文件中")
    if s.sender is None and s.user and "@" in s.user:  # the login is the mailbox itself
        try:
            settings = replace(settings, smtp=replace(s, sender=format_address(s.user)))
        except ValueError:
            pass  # not an address after all: MAIL FROM gets the login, the message no From
        s = settings.smtp
    log = SendLog(send_log_path(book))
    report = plan(book, outdir, settings, to_list, cc_list, resend, log, draft=dry_run)
    if dry_run:
        if not s.host or not (s.sender or s.user):
            missing = "发件服务器（[smtp] host）" if not s.host else "发件人（[smtp] from）"
            report.warnings.append(f"尚未配置{missing}：草稿中{'没有发件人' if not (s.sender or s.user) else '的发件人来自配置'}，"
                                   "可用 Outlook/Foxmail 打开后以您自己的邮箱发送；要由 xlperf 直接发送，"
                                   "请先在 xlperf.toml 中配置邮件服务器（见 README“配置邮件服务器”）")
        drafts = outdir / DRAFTS_FOLDER
        if report.deliveries:
            drafts.mkdir(parents=True, exist_ok=True)
        taken: set[str] = set()
        for d in report.deliveries:
            path = drafts / f"{safe_file_stem(d.stem, taken, suffix='', max_chars=120)}.eml"
            path.write_bytes(message_bytes(d.message))
            report.drafts.append(path)
        return report
    if not report.deliveries:
        return report
    conn = SmtpConnection(s)
    sender_addr = address_of(s.sender or s.user or "")
    fatal: str | None = None
    try:
        for i, d in enumerate(report.deliveries, start=1):
            kinds = dict(d.recipients)
            if fatal is None:
                outcome = _send_one(conn, d, sender_addr, s.retries, s.retry_delay, sleep)
                fatal = outcome.fatal
            else:
                outcome = Outcome(failed={addr: fatal for addr, _ in d.recipients})
            now = datetime.now().astimezone().isoformat(timespec="seconds")
            rows = []
            for addr in outcome.delivered:
                report.sent.append((d.project, addr))
                rows.append(_log_row(now, d, addr, kinds[addr], SENT, ""))
            for addr, why in outcome.unconfirmed.items():
                report.unconfirmed.append((d.project, addr, why))
                report.failures.append(Failure(d.project, addr, why))
                rows.append(_log_row(now, d, addr, kinds.get(addr, "收件人"), UNCONFIRMED, why))
            for addr, why in outcome.failed.items():
                report.failures.append(Failure(d.project, addr, why))
                rows.append(_log_row(now, d, addr, kinds.get(addr, "收件人"), FAILED, why))
            log.append(rows)
            if progress:
                progress("发送", i, len(report.deliveries))
    finally:
        conn.close()
    if report.unconfirmed:
        report.warnings.append(f"{len(report.unconfirmed)} 个收件人的发送结果未确认：邮件已完整发出，但服务器确认之前连接中断，"
                               "对方可能已经收到。发送记录中记为“未确认”，以后运行不会自动重发；请向收件人确认，"
                               "确未收到时加 --resend 重新发送")
    return report


def _log_row(when: str, d: Delivery, addr: str, kind: str, result: str, note: str) -> dict:
    return {"时间": when, "项目名称": d.project, "收件人": addr, "方式": kind,
            "附件": "；".join(p.name for p in d.attachments), "附件SHA256": d.digest, "结果": result, "说明": note,
            "Message-ID": d.message["Message-ID"]}
