"""The command line's own words in Chinese: help pages and usage errors.

Our help texts are Chinese, but the frame around them ("Usage:", "Options",
"Show this message and exit.", "Error: Missing argument 'book'.") comes from the
click that typer carries inside it (typer._click, English, no gettext) and from
typer.core (gettext). `install()` puts Chinese words there. A typer without these
modules keeps its English frame; nothing else depends on this.
"""
from __future__ import annotations

import re

# typer.core's gettext messages.
WORDS = {
    "Arguments": "参数",
    "Options": "选项",
    "Commands": "命令",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "Aborted!": "已中止。",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有命令 {name!r}。",
}
# The messages of typer._click's usage errors (English f-strings), as patterns.
ERRORS = (
    (r"Missing argument '?([^'.]+)'?\.?", r"缺少参数 \1"),
    (r"Missing option '?([^'.]+)'?\.?", r"缺少选项 \1"),
    (r"Missing parameter:? '?([^'.]+)'?\.?", r"缺少参数 \1"),
    (r"No such option: (\S+)", r"没有选项 \1"),
    (r"No such option '?([^'.]+)'?\.?", r"没有选项 \1"),
    (r"No such command '?([^'.]+)'?\.?", r"没有命令 \1"),
    (r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", r"多余的参数：\1"),
    (r"Option '?([^']+)'? requires (?:an argument|\d+ arguments)\.", r"选项 \1 需要一个值"),
    (r"Option '?([^']+)'? does not take a value\.", r"选项 \1 不接受值"),
    (r"Input should be a valid integer.*", r"应为整数"),
    (r"Input should be a valid number.*", r"应为数字"),
    (r"Input should be greater than or equal to (\S+)", r"应不小于 \1"),
    (r"Input should be greater than (\S+)", r"应大于 \1"),
    (r"Input should be less than or equal to (\S+)", r"应不大于 \1"),
    (r"Input should be less than (\S+)", r"应小于 \1"),
    (r"'?(.*?)'? is not a valid integer(?: range)?\.", r"“\1”不是整数"),
    (r"'?(.*?)'? is not a valid float(?: range)?\.", r"“\1”不是数字"),
    (r"(.*) is not in the range (.*)\.", r"\1 不在允许的范围 \2 内"),
    (r"'?(.*?)'? is not one of (.*)\.", r"“\1”不在可选值 \2 之中"),
    (r"'?(.*?)'? is not (.*)\.", r"“\1”不是 \2"),
    (r"Did you mean (.*)\?", r"您是不是要用 \1？"),
    (r"\(Possible options: (.*)\)", r"（可用的选项：\1）"),
)
HELP_OPTION = "显示本帮助并退出"
USAGE = "用法："
# The placeholders click and typer print in usage lines and option lists.
PLACEHOLDERS = (
    ("[OPTIONS]", "[选项]"), ("COMMAND", "命令"), ("[ARGS]...", "[参数]..."),
    ("<int range>", "<整数>"), ("<float range>", "<数字>"), ("<int>", "<整数>"), ("<float>", "<数字>"),
    ("<path>", "<路径>"), ("<str>", "<文字>"), ("<text>", "<文字>"),
)
ARGUMENT_WORDS = {"book": "工作簿", "path": "文件", "file": "文件", "directory": "文件夹"}
_ARGUMENT = re.compile(r"\{(\w+)\}")


def placeholders(text: str) -> str:
    """Usage lines and option lists with Chinese placeholders ([选项], <路径>, 工作簿)."""
    for english, chinese in PLACEHOLDERS:
        text = text.replace(english, chinese)
    return _ARGUMENT.sub(lambda m: ARGUMENT_WORDS.get(m.group(1), m.group(1)), text)


def display_len(text: str) -> int:
    """Columns text takes in a terminal: a Chinese character takes two (click counts one)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in _ANSI.sub("", text))


_ANSI = re.compile(r"\x1b\[[0-9;]*[mK]")


INVALID_VALUE = re.compile(r"Invalid value(?: for '?([^':]+?)'?)?(?: \(env var: '?([^')]+)'?\))?: (.*)", re.S)


def error_message(english: str) -> str:
    """A usage error's message in Chinese; the English text when no pattern knows it."""
    invalid = INVALID_VALUE.fullmatch(english)
    if invalid:
        option, variable, reason = invalid.groups()
        source = f"（或环境变量 {variable}）" if variable else " "  # typer names the variable whichever was used
        what = f"{option}{source}的值无效" if option else "值无效"
        return f"{what}：{error_message(reason)}"
    english = re.sub(r"。?\.?\s*Did you mean (.*?)\?", r"。您是不是要用 \1？", english)  # after 没有命令 'x'。
    parts = []
    for line in english.split("\n"):
        for pattern, chinese in ERRORS:
            line, n = re.subn(rf"^{pattern}$", chinese, line)
            if n:
                break
        parts.append(line)
    return "\n".join(parts)


def install() -> None:
    try:
        from typer import core as typer_core
        from typer._click import core as click_core
        from typer._click import exceptions, formatting
        from typer._click.utils import echo
    except ImportError:  # an older typer on plain click: its English frame stays
        return

    typer_core._ = lambda message: WORDS.get(message, message)

    write_usage = formatting.HelpFormatter.write_usage

    def chinese_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, placeholders(args), USAGE if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = chinese_usage
    write_dl = formatting.HelpFormatter.write_dl

    def chinese_dl(self, rows, *args, **kwargs) -> None:
        def first_column(text: str) -> str:
            word, sep, rest = text.partition(" ")
            return placeholders(f"{ARGUMENT_WORDS.get(word, word)}{sep}{rest}" if sep else text)

        write_dl(self, [(first_column(first), second) for first, second in rows], *args, **kwargs)

    formatting.HelpFormatter.write_dl = chinese_dl
    formatting.term_len = display_len  # options with Chinese metavars (--to 地址) line up

    get_help_option = click_core.Command.get_help_option

    def chinese_help_option(self, ctx):
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    click_core.Command.get_help_option = chinese_help_option

    def show(self, file=None) -> None:
        file = file or exceptions.get_text_stderr()
        color = self.ctx.color if self.ctx is not None else None
        if self.ctx is not None:
            hint = ""
            if self.ctx.command.get_help_option(self.ctx) is not None:
                hint = f"运行 {self.ctx.command_path} {self.ctx.help_option_names[0]} 查看帮助。\n"
            echo(f"{self.ctx.get_usage()}\n{hint}", file=file, color=color)
        echo(f"错误：{error_message(self.format_message())}", file=file, color=color)

    exceptions.UsageError.show = show
