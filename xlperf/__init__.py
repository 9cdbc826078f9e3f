"""xlperf：项目支出绩效自评表的模板、评分引擎与校验工具。"""
import os as _os

# openpyxl parses with lxml whenever lxml is installed, and then without defusedxml's guards
# (entity expansion, external entities). xlperf needs lxml for its own package-level work but
# reads users' workbooks through openpyxl's defused standard-library parser: decided before
# openpyxl is first imported.
_os.environ["OPENPYXL_LXML"] = "False"
__version__ = "0.1.0"


def main(command: str = "recalc") -> None:
    """The desktop Excel ribbon's entry point (VBA: RunPython "import xlperf; xlperf.main()").

    Runs xlperf.excel.<command> (recalc, check, export or mail) on the workbook that
    called; the outcome is shown in an Excel alert. Needs the optional extra "excel" (xlwings).
    """
    import xlwings as xw

    from . import excel

    commands = {"recalc": excel.recalc, "check": excel.check, "export": excel.export, "mail": excel.mail}
    commands[command](xw.Book.caller())
