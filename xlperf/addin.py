"""The desktop Excel add-in (Windows, macOS): `macros/` and the `xlperf addin` commands.

`macros/xlperf.xlam` is xlwings' own ribbon add-in template (`quickstart_addin_ribbon.xlam` of the pinned
xlwings release, BSD-licensed) with its VBA rewritten by pyopenvba (`xlperf.addin_vba`): the ribbon module
`XlperfRibbon` has one `Public Sub XlperfX(control As IRibbonControl)` per action of `ACTIONS`, each running
its function of xlperf.excel through xlwings' `RunPython`; the xlwings module is the release's source with
`PROJECT_NAME` = "xlperf" (config sheet `_xlperf.conf`, file `xlperf.conf`). Its customUI has all five
buttons. No `.bas` import is needed.

`macros/xlperf-basic.xlam` is the fallback until the full add-in has had a first run in Windows Excel: the
template with only `customUI/customUI.xml` replaced (its `vbaProject.bin` byte-for-byte the template's). Its
one ribbon callback, `RibbonMyAddin.RunMain`, runs `import <file stem>; <file stem>.main()`, so it is
installed under the name `xlperf.xlam` (`xlperf addin install --basic`) and reads `myaddin.conf`.
`macros/xlperf.bas` and `macros/customUI-workbook.xml` give that fallback the other four buttons.

All of `macros/` is generated here (`python -m xlperf.addin` or `xlperf addin build`) from `ACTIONS`, and a
test keeps the committed files byte-identical to a fresh build.

`xlperf addin install` is split into `plan_install` (pure: where things go on Windows/macOS, what the
config file says; tested on Linux with a fake home) and `apply_plan` (copies and writes).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import os
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional
from xml.sax.saxutils import escape, quoteattr

import typer

from .actions import ACTIONS, RECALC, TAB_LABEL, Action
from .zipbytes import rezip

# The xlwings release whose VBA the add-in carries; pyproject's `excel` extra pins the same version.
XLWINGS_VERSION = "0.37.8"
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
ADDIN_NAME = "xlperf.xlam"  # RunMain imports the file's stem: this name is what makes it call xlperf.main()
MACROS_DIR = Path(__file__).resolve().parents[1] / "macros"
ADDIN_PATH = MACROS_DIR / ADDIN_NAME
BASIC_ADDIN_PATH = MACROS_DIR / "xlperf-basic.xlam"  # the template's VBA untouched: one button (fallback)
CUSTOM_UI_PATH = MACROS_DIR / "customUI.xml"
WORKBOOK_CUSTOM_UI_PATH = MACROS_DIR / "customUI-workbook.xml"
BAS_PATH = MACROS_DIR / "xlperf.bas"

CUSTOM_UI_PART = "customUI/customUI.xml"  # the template's part; its relationship (2007 .../ui/extensibility) is customUI14's
CUSTOM_UI_NAMESPACE = "http://schemas.microsoft.com/office/2009/07/customui"
# idQ namespace shared by the add-in's and the workbook's customUI: both add to one tab 绩效自评.
SHARED_NAMESPACE = "urn:xlperf:ribbon"
BASIC_RIBBON_CALLBACK = "RibbonMyAddin.RunMain"  # the template's only ribbon callback (xlperf-basic.xlam)
CONFIG_PREFIX = "xlperf"  # PROJECT_NAME in xlperf.xlam's xlwings module: sheet _xlperf.conf, file xlperf.conf
BASIC_CONFIG_PREFIX = "myaddin"  # PROJECT_NAME in the template's VBA (xlperf-basic.xlam): myaddin.conf
BAS_ENCODING = "gbk"  # the VBA editor imports .bas files in the system's ANSI code page (GBK on Chinese Windows)
BAS_MODULE = "xlperf_ribbon"
ADDIN_RUN_PYTHON = f"'{ADDIN_NAME}'!xlwings.RunPython"  # RunPython of the add-in's xlwings module


class AddinError(Exception):
    """A problem the user can fix; the message is Chinese and says how."""


def python_command(action: Action) -> str:
    """The Python a button runs through xlwings' RunPython: its function of xlperf.excel on the calling book."""
    return f"import xlwings as xw, xlperf.excel; xlperf.excel.{action.function}(xw.Book.caller())"


# ---- generated files ------------------------------------------------------------------------------
_GENERATED_NOTE = "由 python -m xlperf.addin 生成，请勿手工修改"


def _button(action: Action, on_action: str, size: str, extra_tip: str = "") -> str:
    attrs = {
        "id": action.function,
        "label": action.label,
        "size": size,
        "imageMso": action.icon,
        "screentip": action.label,
        "supertip": action.tip + extra_tip,
        "onAction": on_action,
    }
    return "<button " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + "/>"


def _custom_ui(comment: str, groups: list[tuple[str, list[str]]]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f"<!-- {escape(comment)} -->",
        f'<customUI xmlns="{CUSTOM_UI_NAMESPACE}" xmlns:xlperf="{SHARED_NAMESPACE}">',
        "  <ribbon>",
        "    <tabs>",
        f'      <tab idQ="xlperf:tab" label="{TAB_LABEL}">',
    ]
    for group, buttons in groups:
        lines += [f"        {group}", *(f"          {b}" for b in buttons), "        </group>"]
    lines += [
        "      </tab>",
        "    </tabs>",
        "  </ribbon>",
        "</customUI>",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def addin_custom_ui() -> bytes:
    """xlperf.xlam's ribbon: every action, each calling its Sub of the XlperfRibbon module."""
    from .addin_vba import RIBBON_MODULE, on_action

    return _custom_ui(
        f"xlperf.xlam 的功能区（{_GENERATED_NOTE}）。每个按钮调用加载项 VBA 模块 {RIBBON_MODULE} 中的同名回调。",
        [('<group idQ="xlperf:score" label="评分">', [_button(RECALC, on_action(RECALC), "large")]),
         ('<group idQ="xlperf:report" label="检查与报送">',
          [_button(a, on_action(a), "large") for a in ACTIONS if a is not RECALC])],
    )


def basic_custom_ui() -> bytes:
    """xlperf-basic.xlam's ribbon: 重新计算得分 only (the template's VBA has one ribbon callback, xlperf.main())."""
    note = "（检查、导出、生成报告、发送邮件：在命令行运行 xlperf check、xlperf export、xlperf report、xlperf mail，或导入 xlperf.bas。）"
    return _custom_ui(
        f"xlperf-basic.xlam 的功能区（{_GENERATED_NOTE}）。模板 VBA 只有一个功能区回调 {BASIC_RIBBON_CALLBACK}，"
        f"它运行 xlperf.main()，所以这个备用加载项中只有“{RECALC.label}”一个按钮。",
        [('<group idQ="xlperf:score" label="评分">', [_button(RECALC, BASIC_RIBBON_CALLBACK, "large", note)])],
    )


def workbook_custom_ui() -> bytes:
    """A ribbon for a workbook (or PERSONAL.XLSB) into which xlperf.bas is imported: the other four buttons.

    It adds its group to the same tab as the add-in (shared idQ), so with both loaded the tab holds all five.
    """
    return _custom_ui(
        f"导入 xlperf.bas 的工作簿的功能区（{_GENERATED_NOTE}）。用 Office RibbonX Editor 以"
        "“Office 2010+ Custom UI Part”插入；与 xlperf.xlam 的按钮显示在同一个“绩效自评”选项卡中。",
        [('<group id="report" label="检查与报送">', [_button(a, a.label, "large") for a in ACTIONS[1:]])],
    )


def bas_text() -> str:
    """xlperf.bas: ribbon callbacks (control As IRibbonControl) and the same actions as parameterless macros."""
    out = [
        f'Attribute VB_Name = "{BAS_MODULE}"',
        f"' xlperf 项目支出绩效自评：功能区按钮与宏（{_GENERATED_NOTE}）。",
        "'",
        "' 用法：先运行 xlperf addin install 安装 xlperf.xlam 加载项并重新启动 Excel；",
        "' 再在 Visual Basic 编辑器（Alt+F11）中“文件 → 导入文件”导入本文件，",
        "' 导入到个人宏工作簿 PERSONAL.XLSB 即可用于所有工作簿。",
        "' 下列宏通过加载项中的 xlwings RunPython 运行 Python（使用 xlperf addin install 写入的 Python 路径）。",
        "' 本文件以 GBK 编码保存，适用于中文 Windows。",
        "",
        "Option Explicit",
        "",
        f'Private Const ADDIN_RUN_PYTHON As String = "{ADDIN_RUN_PYTHON}"',
        "",
        "' ---- 功能区回调：供 customUI-workbook.xml 的 onAction 使用 ----",
    ]
    for a in ACTIONS:
        out += ["", f"' {a.tip}", f"Public Sub {a.label}(control As IRibbonControl)",
                f'    RunXlperf "{python_command(a)}"', "End Sub"]
    out += ["", "' ---- 无参数的宏：用于“文件 → 选项 → 自定义功能区”、快速访问工具栏或表单按钮 ----"]
    for a in ACTIONS:
        out += ["", f"Public Sub {a.macro}()", f'    RunXlperf "{python_command(a)}"', "End Sub"]
    out += [
        "",
        "Private Sub RunXlperf(PythonCommand As String)",
        "    If ActiveWorkbook Is Nothing Then",
        f'        MsgBox "请先打开要处理的工作簿。", vbExclamation, "{TAB_LABEL}"',
        "        Exit Sub",
        "    End If",
        "    On Error GoTo AddinMissing",
        "    Application.Run ADDIN_RUN_PYTHON, PythonCommand",
        "    Exit Sub",
        "AddinMissing:",
        f'    MsgBox "无法调用 {ADDIN_NAME} 加载项（" & Err.Description & "）。" & vbCrLf & _',
        f'           "请先在命令行运行 xlperf addin install，然后退出并重新启动 Excel。", vbExclamation, "{TAB_LABEL}"',
        "End Sub",
        "",
    ]
    return "\r\n".join(out)


def xlwings_dir() -> Path:
    """The installed xlwings package's folder; it must be the pinned release (the add-in's VBA is that release)."""
    need = f"需要 xlwings {XLWINGS_VERSION}：请运行 pip install -e '.[excel]'"
    try:
        installed = importlib.metadata.version("xlwings")
    except importlib.metadata.PackageNotFoundError:
        raise AddinError(need) from None
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise AddinError(need)
    if installed != XLWINGS_VERSION:
        raise AddinError(f"已安装的 xlwings 版本为 {installed}，而 {ADDIN_NAME} 中的 VBA 是 xlwings {XLWINGS_VERSION}，"
                         f"两者必须一致：请运行 pip install 'xlwings=={XLWINGS_VERSION}'")
    return Path(next(iter(spec.submodule_search_locations)))


def xlwings_template() -> bytes:
    """The pinned xlwings release's ribbon add-in template."""
    return (xlwings_dir() / TEMPLATE_NAME).read_bytes()


def addin_bytes(template: bytes, custom_ui: bytes, parts: Optional[Mapping[str, bytes]] = None) -> bytes:
    """The template with its customUI part (and `parts`) replaced; every other member unchanged. Fixed zip metadata."""
    replaced = {**(parts or {}), CUSTOM_UI_PART: custom_ui}
    with zipfile.ZipFile(io.BytesIO(template)) as src:
        missing = sorted(set(replaced) - set(src.namelist()))
        if missing:
            raise AddinError(f"xlwings 模板中没有 {'、'.join(missing)}")
    return rezip(template, lambda name, data: replaced.get(name, data))


def full_addin_bytes(template: bytes) -> bytes:
    """xlperf.xlam: the template with our VBA (pyopenvba), the config sheet renamed, and the five-button ribbon."""
    from .addin_vba import WORKBOOK_PART, rename_config_sheet, with_ribbon_vba

    package = with_ribbon_vba(template)
    with zipfile.ZipFile(io.BytesIO(package)) as src:
        workbook = src.read(WORKBOOK_PART)
    return addin_bytes(package, addin_custom_ui(), {WORKBOOK_PART: rename_config_sheet(workbook)})


def generated_files() -> dict[Path, bytes]:
    """Everything in macros/, as bytes."""
    template = xlwings_template()
    return {
        ADDIN_PATH: full_addin_bytes(template),
        BASIC_ADDIN_PATH: addin_bytes(template, basic_custom_ui()),
        CUSTOM_UI_PATH: addin_custom_ui(),
        WORKBOOK_CUSTOM_UI_PATH: workbook_custom_ui(),
        BAS_PATH: bas_text().encode(BAS_ENCODING),
    }


def build(directory: Path = MACROS_DIR) -> list[Path]:
    """Write macros/ (xlperf.xlam, xlperf-basic.xlam, customUI.xml, customUI-workbook.xml, xlperf.bas); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for path, data in generated_files().items():
        target = directory / path.name
        target.write_bytes(data)
        written.append(target)
    return written


# ---- install --------------------------------------------------------------------------------------
SUPPORTED_PLATFORMS = ("win32", "darwin")
MAC_OFFICE_CONTAINER = Path("Library/Group Containers/UBF8T346G9.Office")
MAC_EXCEL_SANDBOX = Path("Library/Containers/com.microsoft.Excel/Data")
MAC_SCRIPTS = Path("Library/Application Scripts/com.microsoft.Excel")
APPLESCRIPT_NAME = f"xlwings-{XLWINGS_VERSION}.applescript"


@dataclass(frozen=True)
class InstallPlan:
    """What `xlperf addin install` does on one platform; `apply_plan` carries it out."""

    platform: str
    addin_source: Path
    addin_target: Path
    config_file: Path
    config_key: str
    interpreter: str
    copies: tuple[tuple[Path, Path], ...] = ()  # further (source, target) files: the AppleScript on macOS
    warnings: tuple[str, ...] = field(default=())

    @property
    def newline(self) -> str:
        return "\r\n" if self.platform == "win32" else "\n"

    def config_text(self, existing: Optional[str]) -> str:
        """The config file with the interpreter line set; other lines (PYTHONPATH, SHOW CONSOLE…) kept."""
        return config_text(existing, self.config_key, self.interpreter, self.newline)


def unsupported_message(platform: str) -> str:
    return (f"此电脑的系统（{platform}）没有桌面版 Excel，无法安装 {ADDIN_NAME} 加载项：加载项只能装在 Windows 或 macOS 的 Excel 中。"
            f"请在装有 Excel 的 Windows/macOS 电脑上运行 pip install -e '.[excel]' 和 xlperf addin install；"
            f"在本机可直接使用 xlperf recalc、check、export、mail 命令，或用 xlperf serve 为 Excel 网页版提供同样的按钮。")


def config_text(existing: Optional[str], key: str, value: str, newline: str = "\n") -> str:
    """A `"KEY","value"` config file (the format xlwings' VBA reads with `Input #`) with `key` set to `value`."""
    lines = [line for line in (existing or "").splitlines()
             if line.strip() and line.split(",", 1)[0].strip().strip('"').upper() != key.upper()]
    lines.append(f'"{key}","{value}"')
    return newline.join(lines) + newline


def _first_dir(base: Path, *names: str) -> Optional[Path]:
    return next((base / n for n in names if (base / n).is_dir()), None)


def mac_startup_dir(home: Path) -> Path:
    """Excel 2016+ for Mac's start-up folder (what `app.startup_path` returns), found on disk.

    On disk the folders are usually `User Content.localized/Startup.localized` (Finder hides `.localized`).
    """
    office = home / MAC_OFFICE_CONTAINER
    content = _first_dir(office, "User Content.localized", "User Content")
    if content is None:
        raise AddinError(f"找不到 Excel 的用户文件夹 {office / 'User Content'}：请确认已安装 Excel 2016 或更新版本，"
                         "并至少启动过一次 Excel；或用 --dir 指定 Excel 的启动文件夹。")
    startup = _first_dir(content, "Startup.localized", "Startup")
    if startup is None:
        startup = content / ("Startup.localized" if content.name.endswith(".localized") else "Startup")
    return startup / "Excel"


def plan_install(platform: str, *, home: Path, env: Mapping[str, str], interpreter: str,
                 addin_source: Optional[Path] = None, startup_dir: Optional[Path] = None,
                 xlwings_dir: Optional[Path] = None, basic: bool = False) -> InstallPlan:
    """Where the add-in, its config file and (macOS) xlwings' AppleScript go; nothing is touched.

    Mirrors `xlwings addin install`: the add-in goes to Excel's start-up folder (xlwings asks Excel for
    `app.startup_path`; `startup_dir` is that answer when Excel could be asked), the config file is the
    one the add-in's VBA reads (`GetConfigFilePath` with PROJECT_NAME "xlperf"; "myaddin" for the
    `basic` fallback, xlperf-basic.xlam, which is installed under the name xlperf.xlam), and on macOS
    `xlwings runpython install` copies the AppleScript RunPython needs into Excel's script folder.
    """
    if platform not in SUPPORTED_PLATFORMS:
        raise AddinError(unsupported_message(platform))
    if '"' in interpreter:
        raise AddinError(f"Python 路径中含有双引号，加载项的配置文件无法保存：{interpreter}")
    warnings = []
    copies: tuple[tuple[Path, Path], ...] = ()
    prefix = BASIC_CONFIG_PREFIX if basic else CONFIG_PREFIX
    if addin_source is None:
        addin_source = BASIC_ADDIN_PATH if basic else ADDIN_PATH
    if platform == "win32":
        profile = Path(env.get("USERPROFILE") or home)
        appdata = Path(env.get("APPDATA") or profile / "AppData" / "Roaming")
        target_dir = startup_dir or appdata / "Microsoft" / "Excel" / "XLSTART"
        config_file = profile / f".{prefix}" / f"{prefix}.conf"  # Environ("USERPROFILE") & "\.xlperf\xlperf.conf"
        key = "INTERPRETER_WIN"
    else:
        target_dir = startup_dir or mac_startup_dir(home)
        config_file = home / MAC_EXCEL_SANDBOX / f"{prefix}.conf"  # "path to home folder" inside Excel's sandbox
        key = "INTERPRETER_MAC"
        if xlwings_dir is None:
            raise AddinError(f"需要 xlwings {XLWINGS_VERSION}：请运行 pip install -e '.[excel]'")
        copies = ((xlwings_dir / APPLESCRIPT_NAME, home / MAC_SCRIPTS / APPLESCRIPT_NAME),)
        if " " in interpreter:
            warnings.append(f"Python 路径中有空格（{interpreter}）：macOS 上 xlwings 不给解释器路径加引号，按钮将无法运行 Python；"
                            "请改用不含空格的路径（如 /usr/local/bin/python3 或虚拟环境中的 python），用 --python 指定。")
    if not all(str(p).isascii() for p in (interpreter, target_dir, config_file)):
        warnings.append("Python 或 Excel 的路径中含有中文等非英文字符：加载项中的 VBA 读取配置和启动 Python 时可能出错。"
                        "如按钮无反应，请把 Python 安装到纯英文路径（如 C:\\Python311），并用 --python 指定。")
    return InstallPlan(platform, addin_source, target_dir / ADDIN_NAME, config_file, key, interpreter,
                       copies, tuple(warnings))


def _read_text(path: Path) -> Optional[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    for encoding in ("utf-8", "gbk"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")


def _config_encoding(platform: str, text: str) -> str:
    if text.isascii():
        return "ascii"
    # VBA's `Input #` reads the system's ANSI code page on Windows (GBK on Chinese Windows)
    return "mbcs" if platform == "win32" and sys.platform == "win32" else ("gbk" if platform == "win32" else "utf-8")


def apply_plan(plan: InstallPlan) -> None:
    """Copy the add-in (and the AppleScript), write the config file. Raises AddinError in Chinese."""
    if not plan.addin_source.is_file():
        raise AddinError(f"找不到加载项文件 {plan.addin_source}：请在 xlperf 的源代码文件夹中用 pip install -e 安装，"
                         "或先运行 xlperf addin build。")
    for source in (s for s, _ in plan.copies):
        if not source.is_file():
            raise AddinError(f"找不到 {source}：请重新安装 xlwings {XLWINGS_VERSION}（pip install -e '.[excel]'）。")
    try:
        plan.addin_target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plan.addin_source, plan.addin_target)  # data only: no Mark-of-the-Web stream is copied
        for source, target in plan.copies:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        text = plan.config_text(_read_text(plan.config_file))
        plan.config_file.parent.mkdir(parents=True, exist_ok=True)
        plan.config_file.write_bytes(text.encode(_config_encoding(plan.platform, text)))
    except PermissionError as exc:
        raise AddinError(f"无法写入 {exc.filename or plan.addin_target}：如果 Excel 正在运行，请先退出 Excel 再运行本命令。") from None
    except OSError as exc:
        raise AddinError(f"无法写入 {exc.filename or plan.addin_target}：{exc.strerror or exc}") from None


def remove_addin(plan: InstallPlan) -> bool:
    """Delete the installed add-in; True if there was one. The config file is kept."""
    try:
        plan.addin_target.unlink()
    except FileNotFoundError:
        return False
    except PermissionError:
        raise AddinError(f"无法删除 {plan.addin_target}：请先退出 Excel 再运行本命令。") from None
    return True


def _excel_startup_path() -> Optional[Path]:
    """Ask a running Excel for its start-up folder, as `xlwings addin install` does (never starts Excel)."""
    try:
        import xlwings as xw

        if xw.apps:
            return Path(xw.apps.active.startup_path)
    except Exception:  # no Excel running, no automation permission: fall back to the default folder
        return None
    return None


def _close_running_addin() -> None:
    """Close xlperf.xlam in running Excel instances so that it can be replaced (as `xlwings addin install` does)."""
    try:
        import xlwings as xw

        for excel in xw.apps:
            try:
                excel.books[ADDIN_NAME].close()
            except Exception:  # not open in this instance
                pass
    except Exception:  # no Excel, no automation permission: the copy says so if the file is locked
        return


def current_plan(startup_dir: Optional[Path] = None, python: Optional[str] = None, basic: bool = False) -> InstallPlan:
    """The plan for this computer."""
    if sys.platform not in SUPPORTED_PLATFORMS:
        raise AddinError(unsupported_message(sys.platform))
    package = xlwings_dir()
    return plan_install(sys.platform, home=Path.home(), env=os.environ, interpreter=python or sys.executable,
                        startup_dir=startup_dir or _excel_startup_path(), xlwings_dir=package, basic=basic)


# ---- the `xlperf addin` commands ------------------------------------------------------------------
addin_app = typer.Typer(
    help=f"桌面 Excel（Windows/macOS）加载项 {ADDIN_NAME}：功能区“{TAB_LABEL}”选项卡。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _fail(message: str) -> None:
    from .cli import EXIT_UNREADABLE, _fail as fail  # the house error format (late: xlperf.cli imports this module)

    fail(message, EXIT_UNREADABLE)


def _say(message: str) -> None:
    typer.echo(message)


@addin_app.command("install")
def install_command(
    startup_dir: Optional[Path] = typer.Option(None, "--dir", help="Excel 的启动文件夹（默认：向正在运行的 Excel 询问，否则用 Excel 的默认启动文件夹）"),
    python: Optional[str] = typer.Option(None, "--python", help="按钮运行的 Python（默认：运行本命令的 Python）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只显示将复制和写入的文件，不做任何改动"),
    basic: bool = typer.Option(False, "--basic", help="安装只有“重新计算得分”一个按钮的备用加载项 xlperf-basic.xlam（VBA 与 xlwings 模板逐字节相同），以 xlperf.xlam 的名称安装"),
) -> None:
    """把 xlperf.xlam 复制到 Excel 的启动文件夹，并在加载项的配置文件中写入 Python 的路径。"""
    try:
        plan = current_plan(startup_dir, python, basic)
        for warning in plan.warnings:
            _say(f"注意：{warning}")
        if dry_run:
            _say(f"将复制 {plan.addin_source} → {plan.addin_target}")
            for source, target in plan.copies:
                _say(f"将复制 {source} → {target}")
            _say(f"将在 {plan.config_file} 中写入 {plan.config_key} = {plan.interpreter}")
            return
        _close_running_addin()
        apply_plan(plan)
    except AddinError as exc:
        _fail(str(exc))
    _say(f"已安装加载项：{plan.addin_target}")
    _say(f"已写入配置文件：{plan.config_file}（{plan.config_key} = {plan.interpreter}）")
    for _, target in plan.copies:
        _say(f"已复制 xlwings 的 RunPython 脚本：{target}")
    quit_hint = "（按 Cmd+Q 完全退出）" if plan.platform == "darwin" else ""
    buttons = RECALC.label if basic else "、".join(a.label for a in ACTIONS)
    _say(f"请退出 Excel{quit_hint}并重新启动，功能区将出现“{TAB_LABEL}”选项卡和“{buttons}”按钮。")


@addin_app.command("remove")
def remove_command(
    startup_dir: Optional[Path] = typer.Option(None, "--dir", help="Excel 的启动文件夹（默认同 install）"),
) -> None:
    """从 Excel 的启动文件夹删除 xlperf.xlam（保留配置文件）。"""
    try:
        plan = current_plan(startup_dir)
        removed = remove_addin(plan)
    except AddinError as exc:
        _fail(str(exc))
    _say(f"已删除 {plan.addin_target}；重新启动 Excel 后“{TAB_LABEL}”选项卡将消失。" if removed
         else f"没有安装加载项（{plan.addin_target} 不存在）。")


@addin_app.command("build")
def build_command(
    directory: Path = typer.Option(MACROS_DIR, "--outdir", help="输出文件夹（默认：源代码中的 macros/）"),
) -> None:
    """由 xlwings 模板重新生成 macros/ 中的 xlperf.xlam、xlperf-basic.xlam、customUI.xml、customUI-workbook.xml 和 xlperf.bas。"""
    try:
        paths = build(directory)
    except AddinError as exc:
        _fail(str(exc))
    for path in paths:
        _say(f"已生成 {path}")


if __name__ == "__main__":
    for written in build():
        print(written)
