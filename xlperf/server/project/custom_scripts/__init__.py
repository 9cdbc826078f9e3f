"""The 绩效自评 ribbon's Python side on xlwings Server (Excel on the web and Mac).

Each script receives the workbook Excel sent (an xlwings remote Book) and calls the same
function as the desktop ribbon (xlperf.excel); what it writes, and its Chinese alert, go back
to Excel as actions. Button -> script: static/js/ribbon.js.

Only 重新计算得分 and 检查 are here: 导出 and 发送邮件 write files next to the saved workbook
and use the unit's mail settings, which a workbook open in the browser does not have
(desktop Excel or the command line do them; see README).
"""
import logging

import xlwings as xw
from xlwings.server import script  # not xw.script: that one is a no-op unless XLWINGS_ON_SERVER was set first

from xlperf import excel

log = logging.getLogger("xlperf.server")


def _run(what: str, command, book: xw.Book) -> None:
    report = command(book)  # the profile `xlperf serve --profile` chose: $XLPERF_PROFILE (excel.default_profile)
    if report is None:
        log.info("%s“%s”：未完成（已提示用户）", what, book.name)
    else:
        log.info("%s“%s”：%d 个项目，%d 条问题", what, book.name, len(report.results), len(report.findings))


@script
def recalc(book: xw.Book):
    """重新计算得分：评分并写入附件1、汇总和校验结果工作表。"""
    _run("重新计算", excel.recalc, book)


@script
def check(book: xw.Book):
    """检查：重新计算并只写校验结果工作表。"""
    _run("检查", excel.check, book)
