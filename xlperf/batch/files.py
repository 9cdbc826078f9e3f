"""Which files a batch checks: each PATH a file, a folder (walked recursively) or a glob.

Folders give the workbooks and Word reports in them; the formats LibreOffice must convert first
(.xls, .et, .ods, .doc, .wps …) are taken too and, without --convert, reported as needing it.
Lock files of Excel/WPS/LibreOffice, xlperf's own temporaries and backups, hidden files, and the
batch's own report and cache are never taken; an earlier 审核汇总 written by xlperf is skipped (and said).
What cannot be walked is never skipped in silence: a folder that cannot be read, a link to a folder (not
followed: a submitter's zip may hold one to / or to the reviewer's home) and a dangling link are rows.
"""
from __future__ import annotations

import glob
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..readers.docx_tables import DOCUMENT_SUFFIXES
from ..workbook_io import CONVERTIBLE_SUFFIXES, SUPPORTED_SUFFIXES

# what a folder yields: the text formats (.csv, .txt) only when named one by one
FOLDER_SUFFIXES = frozenset((*SUPPORTED_SUFFIXES, *DOCUMENT_SUFFIXES,
                             *(s for s in CONVERTIBLE_SUFFIXES if s not in (".csv", ".txt"))))
NATIVE_SUFFIXES = frozenset((*SUPPORTED_SUFFIXES, ".docx", ".docm", ".dotx", ".dotm"))
GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Collected:
    files: tuple[Path, ...]  # in a stable order: as named, folders sorted
    missing: tuple[str, ...]  # paths and globs that name nothing (the command refuses them)
    problems: tuple[tuple[str, str, str], ...] = ()  # (path, code, message): folders and links not walked, as rows
    summaries: tuple[Path, ...] = ()  # earlier 审核汇总 workbooks written by xlperf: skipped, not audited


CONVERT_SUFFIXES = frozenset((*CONVERTIBLE_SUFFIXES, *(s for s in DOCUMENT_SUFFIXES if s not in NATIVE_SUFFIXES)))


def needs_convert(path: Path) -> bool:
    """A format LibreOffice converts first (.xls, .et, .ods, .doc, .wps, .csv …); anything else is read as it is
    (and, if it is no workbook or report, refused by check with its own message)."""
    return path.suffix.lower() in CONVERT_SUFFIXES


def _taken(path: Path, skip: tuple[Path, ...]) -> bool:
    name = path.name
    if name.startswith(("~$", ".~lock.", ".")) or ".xlperf-" in name:
        return False  # lock files, hidden files, xlperf's temporaries and locks
    if path.suffix.lower() not in FOLDER_SUFFIXES:
        return False
    resolved = path.resolve()
    return not any(resolved == s or s in resolved.parents for s in skip)


def _walk(folder: Path, skip: tuple[Path, ...], problems: list) -> list[Path]:
    from ..safety import os_reason
    from .job import FOLDER_LINK, FOLDER_UNREADABLE, UNREADABLE

    def unreadable(exc: OSError) -> None:
        where = exc.filename if exc.filename is not None else folder
        problems.append((os.fspath(where), FOLDER_UNREADABLE,
                         f"无法读取该文件夹（{os_reason(exc)}），其中的文件未审核"))

    found = []
    for root, dirs, names in os.walk(folder, onerror=unreadable):
        kept = []
        for d in sorted(dirs):
            path = Path(root, d)
            if d.startswith(".") or any(path.resolve() == s for s in skip):
                continue
            if os.path.islink(path):
                problems.append((str(path), FOLDER_LINK, "是指向文件夹的链接，未进入、其中的文件未审核；"
                                                          "如需审核，请直接给出它指向的文件夹"))
                continue
            kept.append(d)
        dirs[:] = kept
        for n in sorted(names):
            path = Path(root, n)
            if _taken(path, skip):
                found.append(path)
            elif not n.startswith((".", "~$")) and os.path.islink(path) and not os.path.exists(path):
                problems.append((str(path), UNREADABLE, "是失效的链接（指向的文件或文件夹不存在），未审核"))
    return found


def collect(paths: list[str | Path], skip: tuple[Path, ...] = ()) -> Collected:
    """The files PATH... names, each once, in order. skip: paths never taken (the report, its cache)."""
    skip = tuple(Path(s).resolve() for s in skip)
    files: list[Path] = []
    missing: list[str] = []
    problems: list[tuple[str, str, str]] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_dir():
            files += _walk(path, skip, problems)
        elif path.exists():
            files.append(path)  # named one by one: taken whatever its name or kind (check decides; a FIFO is a row)
        elif any(c in text for c in GLOB_CHARS):
            matched = sorted(Path(m) for m in glob.glob(text, recursive=True))
            if not matched:
                missing.append(text)
            for m in matched:
                files += _walk(m, skip, problems) if m.is_dir() else [m] if _taken(m, skip) else []
        else:
            missing.append(text)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    from .summary import is_batch_summary

    summaries = tuple(f for f in unique if f.suffix.lower() == ".xlsx" and is_batch_summary(f))
    return Collected(tuple(f for f in unique if f not in summaries), tuple(missing), tuple(problems), summaries)


def shown_name(file: str) -> str:
    """A path as the reviewer reads it: a component that is no UTF-8 (a GBK name from a Windows zip unpacked
    on Linux) decoded as GB18030, else its bytes escaped (\\xNN), never lone surrogates; the bidi controls and
    other format characters (U+202E …) dropped as layout.printable_name drops them, control characters escaped."""
    raw = os.fsencode(file)
    parts = []
    for part in raw.split(b"/"):
        try:
            text = part.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = part.decode("gb18030")
            except UnicodeDecodeError:
                text = part.decode("utf-8", "backslashreplace")
        parts.append(text)
    out = []
    for ch in "/".join(parts):
        category = unicodedata.category(ch)
        if category in ("Cf", "Cs"):
            continue
        out.append(f"\\x{ord(ch):02x}" if category == "Cc" else ch)
    return "".join(out)
