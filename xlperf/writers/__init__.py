"""Writers of the generated sheets: 附件1 (annex), 汇总 (summary), 校验结果 (findings_sheet).

Import the submodules directly (``from xlperf.writers.save import save_workbook_atomic``);
this package imports nothing itself so that a light command does not load pandas.
"""
