"""The 绩效自评 ribbon's Python side on xlwings Server (Excel on the web and Mac; the WPS add-in too).

One script per action of xlperf/actions/actions.toml, named after the action's `function` of
xlperf.excel (the function the desktop ribbon calls): recalc, check, export, word_report, mail.
Each receives the workbook Excel sent (an xlwings remote Book) and runs the function in a worker
process of the server's pool (xlperf.server.pool), off the event loop; what it writes, and its
Chinese alert, go back to Excel as actions. 导出, 生成报告 and 发送邮件 work on the book received
and give their files as a download (xlperf.server.downloads). Button -> script: static/js/ribbon.js.
"""
import xlwings as xw
from xlwings.server import script  # not xw.script: that one is a no-op unless XLWINGS_ON_SERVER was set first

from xlperf.actions import ACTIONS
from xlperf.server import pool

__all__ = []


def _script(action):
    async def run(book: xw.Book):
        await pool.run(action.function, action.label, book)

    run.__name__ = run.__qualname__ = action.function
    run.__doc__ = f"{action.label}：{action.tip}"
    return script(run)


for _action in ACTIONS:
    globals()[_action.function] = _script(_action)
    __all__.append(_action.function)
