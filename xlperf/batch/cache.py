"""Results kept by file content, so a rerun over a folder checks only the files that are new or changed.

One JSON file per result, named by the SHA-256 of the options' fingerprint and the file's bytes, under
a folder beside the report (`审核汇总.xlperf-cache/`) or the one --cache names. A result is written
atomically; an unreadable or stale entry is treated as missing. Results that say nothing about the
file itself (a time-out, a killed worker, a refusal by size or format) are not kept: a rerun tries again.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .job import CRASHED, NEEDS_CONVERT, TIMED_OUT, TOO_LARGE

NOT_KEPT = frozenset({TIMED_OUT, CRASHED, TOO_LARGE, NEEDS_CONVERT})
CACHE_SUFFIX = ".xlperf-cache"
_CHUNK = 1 << 20


def default_cache_dir(report: Path) -> Path:
    return report.with_name(report.stem + CACHE_SUFFIX)


def content_key(fingerprint: str, path: Path | None = None, data: bytes | None = None) -> str:
    digest = hashlib.sha256(fingerprint.encode() + b"\0")
    if data is not None:
        digest.update(data)
    else:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


class ResultCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, file: str) -> dict | None:
        """The kept result for this content, naming `file` (the same content may come under another name)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not {"tables", "findings"} <= data.keys():
            return None
        return {"file": file, "tables": data["tables"], "findings": data["findings"]}

    def put(self, key: str, result: dict) -> None:
        if any(f.get("code") in NOT_KEPT for f in result.get("findings", ())):
            return
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".xlperf-", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"tables": result["tables"], "findings": result["findings"]}, fh, ensure_ascii=False)
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)  # a cache that cannot be written only costs a rerun its time
