"""Results kept by file content, so a rerun over a folder checks only the files that are new or changed.

The cache is never a way to change a verdict: an entry is used only when this xlperf wrote it for these
exact bytes under these options.

- An entry is found under HMAC-SHA256(secret, options' fingerprint + SHA-256 of the content): the version
  of xlperf, the profile, --convert, --crosscheck and the password are in the fingerprint (never stored).
- Its SHA-256 is that of the bytes the worker actually checked (check_file hashes what it read), not of
  what this process read earlier to look the file up.
- It is authenticated: HMAC-SHA256 with a per-cache secret (`secret.key` in the cache folder, created with
  0600 permissions; one that is not a private regular file of this user is replaced, which voids every
  entry). An entry that does not verify, names another version or content, or is malformed is ignored:
  the file is checked again.

One JSON file per result under a folder beside the report (`审核汇总.xlperf-cache/`) or the one --cache
names, written atomically. Results that say nothing about the file itself (a time-out, a killed worker, a
refusal by size, format or kind of file) are not kept: a rerun tries again.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from pathlib import Path

from .job import CRASHED, NEEDS_CONVERT, NOT_REGULAR, TIMED_OUT, TOO_LARGE

NOT_KEPT = frozenset({TIMED_OUT, CRASHED, TOO_LARGE, NEEDS_CONVERT, NOT_REGULAR})
CACHE_SUFFIX = ".xlperf-cache"
SECRET_NAME = "secret.key"
ENTRY_FORMAT = 1
MAX_ENTRY_BYTES = 64 * 1024 * 1024


def default_cache_dir(report: Path) -> Path:
    return report.with_name(report.stem + CACHE_SUFFIX)


def content_digest(data: bytes) -> str:
    """The SHA-256 of a file's content, as an entry is kept under it."""
    return hashlib.sha256(data).hexdigest()


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode("ascii")


def _valid_result(tables, findings) -> bool:
    """The shape the 审核汇总 and --json-lines rely on (an entry that verifies was written by xlperf; this
    only keeps a damaged one from reaching them)."""
    return (isinstance(tables, list) and all(isinstance(t, dict) for t in tables) and isinstance(findings, list)
            and all(isinstance(f, dict) and all(isinstance(f.get(k), str) for k in ("severity", "code", "message"))
                    for f in findings))


class ResultCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._secret: bytes | None = None

    # ---- the secret -----------------------------------------------------------------------------
    def _read_secret(self) -> bytes | None:
        """The cache's secret, if it is a private regular file of this user holding one."""
        path = self.folder / SECRET_NAME
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size > 1024:
                return None
            if os.name == "posix" and (st.st_uid != os.geteuid() or st.st_mode & 0o077):
                return None  # another user could read or have written it
            text = fh.read().strip()
        try:
            key = bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
        return key if len(key) >= 32 else None

    def _new_secret(self) -> bytes | None:
        key = secrets.token_bytes(32)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".xlperf-", suffix=".tmp", dir=self.folder)  # created 0600
            try:
                with os.fdopen(fd, "w", encoding="ascii") as fh:
                    fh.write(key.hex())
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.folder / SECRET_NAME)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return None  # a cache that cannot be written only costs a rerun its time
        return self._read_secret()

    def _key(self, create: bool) -> bytes | None:
        if self._secret is None:
            self._secret = self._read_secret() or (self._new_secret() if create else None)
        return self._secret

    # ---- entries --------------------------------------------------------------------------------
    def _path(self, secret: bytes, fingerprint: str, digest: str) -> tuple[str, Path]:
        name = hmac.new(secret, f"{fingerprint}\0{digest}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return name, self.folder / name[:2] / f"{name}.json"

    def get(self, fingerprint: str, digest: str, file: str) -> dict | None:
        """The kept result for content `digest` under these options, naming `file` (the same content may come
        under another name); None when there is none this xlperf wrote and can verify."""
        from .. import __version__

        secret = self._key(create=False)
        if secret is None:
            return None
        name, path = self._path(secret, fingerprint, digest)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_ENTRY_BYTES + 1)
            if len(raw) > MAX_ENTRY_BYTES:
                return None
            entry = json.loads(raw.decode("utf-8"))
            if not isinstance(entry, dict) or not isinstance(entry.get("mac"), str):
                return None
            mac = entry.pop("mac")
            expected = hmac.new(secret, name.encode() + b"\0" + _canonical(entry), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(mac, expected):
                return None
            if (entry.get("format"), entry.get("xlperf"), entry.get("sha256")) != (ENTRY_FORMAT, __version__, digest):
                return None
            tables, findings = entry.get("tables"), entry.get("findings")
        except (OSError, ValueError, TypeError, RecursionError, UnicodeError):
            return None
        if not _valid_result(tables, findings):
            return None
        return {"file": file, "tables": tables, "findings": findings}

    def put(self, fingerprint: str, digest: str, result: dict) -> None:
        """Keep result as that of content `digest` (the SHA-256 of the bytes checked) under these options."""
        from .. import __version__

        if any(f.get("code") in NOT_KEPT for f in result.get("findings", ())):
            return
        secret = self._key(create=True)
        if secret is None:
            return
        name, target = self._path(secret, fingerprint, digest)
        entry = {"format": ENTRY_FORMAT, "xlperf": __version__, "sha256": digest,
                 "tables": result["tables"], "findings": result["findings"]}
        try:
            body = _canonical(entry)
        except (TypeError, ValueError):
            return
        entry["mac"] = hmac.new(secret, name.encode() + b"\0" + body, hashlib.sha256).hexdigest()
        tmp = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".xlperf-", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(_canonical(entry))  # ASCII: a name with lone surrogates (a GBK file name) is kept too
            os.replace(tmp, target)
        except OSError:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)  # a cache that cannot be written only costs a rerun its time
