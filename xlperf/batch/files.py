"""Which files a batch checks: each PATH a file, a folder (walked recursively) or a glob.

Folders give the workbooks and Word reports in them; the formats LibreOffice must convert first
(.xls, .et, .ods, .doc, .wps …) are taken too and, without --convert, reported as needing it.
Lock files of Excel/WPS/LibreOffice, xlperf's own temporaries and backups, hidden files, and the
batch's own report and cache are never taken.
"""
from __future__ import annotations

import glob
import os
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


def _walk(folder: Path, skip: tuple[Path, ...]) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not any(Path(root, d).resolve() == s for s in skip))
        found += [Path(root, n) for n in sorted(names) if _taken(Path(root, n), skip)]
    return found


def collect(paths: list[str | Path], skip: tuple[Path, ...] = ()) -> Collected:
    """The files PATH... names, each once, in order. skip: paths never taken (the report, its cache)."""
    skip = tuple(Path(s).resolve() for s in skip)
    files: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_dir():
            files += _walk(path, skip)
        elif path.is_file():
            files.append(path)  # named one by one: taken whatever its name says (check decides)
        elif any(c in text for c in GLOB_CHARS):
            matched = sorted(Path(m) for m in glob.glob(text, recursive=True))
            if not matched:
                missing.append(text)
            for m in matched:
                files += _walk(m, skip) if m.is_dir() else [m] if _taken(m, skip) else []
        else:
            missing.append(text)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return Collected(tuple(unique), tuple(missing))
