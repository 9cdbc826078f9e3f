"""Test session set-up shared by every test module."""
import os

# As xlperf/__init__.py: openpyxl must read with its defused parser even though lxml is installed.
# Set here too, since a test module may import openpyxl before it imports xlperf.
os.environ["OPENPYXL_LXML"] = "False"


def pytest_collection_modifyitems(config, items):
    """The random searches (not derandomised) run only when asked for with -m search (.ci/run does)."""
    import pytest

    if "search" in (config.option.markexpr or "").replace("not search", ""):
        return
    skip = pytest.mark.skip(reason="随机搜索只在 pytest -m search 时运行（见 .ci/run）")
    for item in items:
        if item.get_closest_marker("search") is not None:
            item.add_marker(skip)
