"""A small formula engine for cross-checking workbooks (issue: formula cross-check).

One file per concern, like pycel: functions.py is the function library with
Excel's exact semantics where the `formulas` package differs.
"""
