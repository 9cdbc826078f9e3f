"""Test session set-up shared by every test module."""
import os

# As xlperf/__init__.py: openpyxl must read with its defused parser even though lxml is installed.
# Set here too, since a test module may import openpyxl before it imports xlperf.
os.environ["OPENPYXL_LXML"] = "False"


# Markers whose tests run only when asked for by name (-m search, -m slow); .ci/run runs both after the
# README's command, which stays a run of a few minutes.
ON_REQUEST = {
    "search": "随机搜索只在 pytest -m search 时运行（见 .ci/run）",
    "slow": "耗时数分钟的测试只在 pytest -m slow 时运行（见 .ci/run）",
}


def pytest_collection_modifyitems(config, items):
    """The random searches (not derandomised) and the tests that take minutes run only when their marker is
    asked for (-m search, -m slow)."""
    import pytest

    asked = config.option.markexpr or ""
    for marker, reason in ON_REQUEST.items():
        if marker in asked.replace(f"not {marker}", ""):
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if item.get_closest_marker(marker) is not None:
                item.add_marker(skip)
