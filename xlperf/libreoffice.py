"""A small, robust wrapper around LibreOffice headless (``soffice``).

Used by the product (PDF export) and by the tests as an independent oracle
that recalculates workbooks::

    out = recalculate(Path("表.xlsx"), tmp_dir)
    wb = openpyxl.load_workbook(out, data_only=True)   # values as LibreOffice computed them

Every call runs ``soffice`` with its own, freshly created user profile
(``-env:UserInstallation=file:///tmp/xlperf-lo-…/profile``) and its own
``HOME``, both deleted afterwards, so the user's own LibreOffice profile is
never touched and parallel calls (pytest-xdist workers) never collide. The
profile's ``registrymodifications.xcu`` sets "Recalculation on File Load" to
*always* for OOXML and ODF documents; without it LibreOffice keeps whatever
cached values the file carries, however stale.

The source is copied into the private working directory before conversion
(no lock files next to the user's file, no clash between two calls on the
same file) and the result is moved to ``dest_dir`` afterwards, so converting
into the source's own directory never overwrites the source itself.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = [
    "LibreOfficeError",
    "find_soffice",
    "available",
    "recalculate",
    "convert",
]

DEFAULT_TIMEOUT = 180.0

# Short format names → "extension:filter" as --convert-to expects them.
# Anything else is passed through unchanged (e.g. "html" or "pdf:calc_pdf_Export:{…}").
FILTERS: dict[str, str] = {
    "xlsx": "xlsx:Calc Office Open XML",
    "pdf": "pdf:calc_pdf_Export",
    "ods": "ods:calc8",
    "xls": "xls:MS Excel 97",
    "csv": "csv:Text - txt - csv (StarCalc)",
}

_CANDIDATE_NAMES = ("soffice", "libreoffice")
_CANDIDATE_PATHS = (
    "/usr/bin/soffice",
    "/usr/local/bin/soffice",
    "/usr/lib/libreoffice/program/soffice",
    "/usr/lib64/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/snap/bin/libreoffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
)
_OPT_GLOB = "/opt/libreoffice*/program/soffice"  # official .deb/.rpm builds

_REGISTRY_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
{items}
</oor:items>
"""

# (path, property, value)
_SETTINGS_RECALC: tuple[tuple[str, str, str], ...] = (
    # 0 = always recalculate, 1 = never (the default), 2 = prompt
    ("/org.openoffice.Office.Calc/Formula/Load", "OOXMLRecalcMode", "0"),
    ("/org.openoffice.Office.Calc/Formula/Load", "ODFRecalcMode", "0"),
)
_SETTINGS_COMMON: tuple[tuple[str, str, str], ...] = (
    # Never run macros contained in the documents we open.
    ("/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "3"),
    ("/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "true"),
    ("/org.openoffice.Office.Common/Misc", "FirstRun", "false"),
)


class LibreOfficeError(Exception):
    """LibreOffice could not be found, or failed to produce the output."""


# ----------------------------------------------------------------------------
# locating soffice


def find_soffice() -> str | None:
    """Path of the ``soffice`` executable, or None when LibreOffice is not installed.

    ``$XLPERF_SOFFICE`` wins when it names an executable file; then ``PATH``;
    then the usual install locations on Linux, macOS and Windows.
    """
    override = os.environ.get("XLPERF_SOFFICE")
    if override and _is_executable(override):
        return override
    for name in _CANDIDATE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    candidates = list(_CANDIDATE_PATHS)
    candidates += sorted((str(p) for p in Path("/").glob(_OPT_GLOB.lstrip("/"))), reverse=True)
    for candidate in candidates:
        if _is_executable(candidate):
            return candidate
    return None


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def available() -> bool:
    """True when a LibreOffice executable can be found."""
    return find_soffice() is not None


# ----------------------------------------------------------------------------
# public API


def recalculate(src: Path, dest_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Open ``src`` in LibreOffice, recalculate every formula, save as xlsx into ``dest_dir``.

    Returns the path of the written workbook (``dest_dir/<src stem>.xlsx``;
    ``<src stem>.recalculated.xlsx`` when that would be ``src`` itself). Read
    its values with ``openpyxl.load_workbook(path, data_only=True)``.
    """
    return _run(src, "xlsx", dest_dir, timeout, always_recalc=True, collision_tag="recalculated")


def convert(src: Path, fmt: str, dest_dir: Path, timeout: float = DEFAULT_TIMEOUT, infilter: str | None = None) -> Path:
    """Convert ``src`` to ``fmt`` ("pdf", "xlsx", "ods", … or "ext:Filter name") into ``dest_dir``.

    Formulas are recalculated on load, as in `recalculate`. Returns the path
    of the written file (``dest_dir/<src stem>.<ext>``; ``<src stem>.converted.<ext>``
    when that would be ``src`` itself).
    """
    return _run(src, fmt, dest_dir, timeout, always_recalc=True, collision_tag="converted", infilter=infilter)


# ----------------------------------------------------------------------------
# implementation


def _filter_spec(fmt: str) -> tuple[str, str]:
    """(argument for --convert-to, extension of the output file)."""
    spec = (fmt or "").strip()
    if spec.startswith("."):
        spec = spec[1:]
    ext = spec.split(":", 1)[0].strip().lower()
    if not ext or any(c in ext for c in "/\\ ") or ext in (".", ".."):
        raise LibreOfficeError(f"无效的目标格式：{fmt!r}")
    if ":" not in spec:
        spec = FILTERS.get(ext, ext)
    return spec, ext


def _registry_xml(always_recalc: bool) -> str:
    settings = (_SETTINGS_RECALC if always_recalc else ()) + _SETTINGS_COMMON
    items = "\n".join(
        f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse">'
        f'<value>{value}</value></prop></item>'
        for path, name, value in settings
    )
    return _REGISTRY_TEMPLATE.format(items=items)


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = str(home)
    env["USERPROFILE"] = str(home)  # Windows
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env.pop(var, None)
    # A non-UTF-8 C locale would make soffice misread non-ASCII file names.
    if not _is_utf8_locale(env):
        env["LC_ALL"] = "C.UTF-8"
    # Python-specific settings of the caller must not leak into LibreOffice's own Python.
    for var in ("PYTHONHOME", "PYTHONPATH"):
        env.pop(var, None)
    return env


def _is_utf8_locale(env: dict[str, str]) -> bool:
    if os.name == "nt":
        return True
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(var)
        if value:
            return "utf-8" in value.lower() or "utf8" in value.lower()
    return False


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill soffice and everything it started (its own process group)."""
    if os.name == "nt":
        proc.kill()
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    if os.name == "nt":
        return False
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _read_text(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace").strip()
    return text[-limit:]


def _run(
    src: Path,
    fmt: str,
    dest_dir: Path,
    timeout: float,
    *,
    always_recalc: bool,
    collision_tag: str,
    infilter: str | None = None,
) -> Path:
    src = Path(src)
    dest_dir = Path(dest_dir)
    soffice = find_soffice()
    if soffice is None:
        raise LibreOfficeError("未找到 LibreOffice（soffice），请先安装 LibreOffice 或设置 XLPERF_SOFFICE")
    if not src.is_file():
        raise LibreOfficeError(f"源文件不存在：{src}")
    spec, ext = _filter_spec(fmt)
    dest_dir.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="xlperf-lo-"))
    try:
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(
            _registry_xml(always_recalc), encoding="utf-8"
        )
        home = work / "home"
        home.mkdir()
        indir = work / "in"
        indir.mkdir()
        outdir = work / "out"
        outdir.mkdir()
        staged = indir / src.name
        try:
            shutil.copyfile(src, staged)
        except OSError as exc:
            raise LibreOfficeError(f"无法读取源文件 {src}：{exc}") from exc

        cmd = [
            soffice,
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--nologo",
            *([f"--infilter={infilter}"] if infilter else []),
            "--convert-to",
            spec,
            "--outdir",
            str(outdir),
            str(staged),
        ]
        stdout_path = work / "stdout.txt"
        stderr_path = work / "stderr.txt"
        started = time.monotonic()
        with open(stdout_path, "wb") as out_f, open(stderr_path, "wb") as err_f:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out_f,
                    stderr=err_f,
                    env=_child_env(home),
                    cwd=str(work),
                    start_new_session=(os.name != "nt"),
                )
            except OSError as exc:
                raise LibreOfficeError(f"无法启动 LibreOffice（{soffice}）：{exc}") from exc
            try:
                returncode = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                proc.wait()
                raise LibreOfficeError(
                    f"LibreOffice 转换超时（{timeout:g} 秒），已终止进程：{src}"
                    + _details(stdout_path, stderr_path)
                ) from None
            except BaseException:  # KeyboardInterrupt etc.: never leave soffice behind
                _kill_group(proc)
                proc.wait()
                raise
            finally:
                # soffice.bin normally exits with the wrapper; sweep any straggler.
                if _group_alive(proc.pid):
                    _kill_group(proc)
        elapsed = time.monotonic() - started

        produced = outdir / f"{staged.stem}.{ext}"
        if not produced.is_file():
            others = [p for p in outdir.iterdir() if p.is_file()]
            if len(others) == 1:
                produced = others[0]
        if not produced.is_file() or produced.stat().st_size == 0:
            state = "输出文件为空" if produced.is_file() else "未生成输出文件"
            raise LibreOfficeError(
                f"LibreOffice 转换失败（{state}，退出码 {returncode}，用时 {elapsed:.1f} 秒）："
                f"{src} → {spec}" + _details(stdout_path, stderr_path)
            )

        target = dest_dir / f"{src.stem}{produced.suffix}"
        if _same_file(target, src):
            target = dest_dir / f"{src.stem}.{collision_tag}{produced.suffix}"
        try:
            shutil.move(str(produced), str(target))
        except OSError as exc:
            raise LibreOfficeError(f"无法写入输出文件 {target}：{exc}") from exc
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _without_stack(text: str) -> str:
    """soffice's words without the stack trace a crash prints (dozens of library addresses nobody can act on)."""
    lines = text.splitlines()
    if "Stack:" not in (line.strip() for line in lines):
        return text
    kept, skipping = [], False
    for line in lines:
        if line.strip() == "Stack:":
            skipping = True
            kept.append("（调用栈已略去）")
            continue
        if skipping and (line.startswith("/") or "(+0x" in line):
            continue
        skipping = False
        kept.append(line)
    return "\n".join(kept).strip()


def _details(stdout_path: Path, stderr_path: Path) -> str:
    err = _without_stack(_read_text(stderr_path))
    out = _read_text(stdout_path)
    parts = []
    if err:
        parts.append(f"\nsoffice 标准错误输出：\n{err}")
    if out:
        parts.append(f"\nsoffice 标准输出：\n{out}")
    if not parts:
        parts.append("\n（soffice 没有输出任何信息）")
    return "".join(parts)
