"""Test session set-up shared by every test module."""
import os

# As xlperf/__init__.py: openpyxl must read with its defused parser even though lxml is installed.
# Set here too, since a test module may import openpyxl before it imports xlperf.
os.environ["OPENPYXL_LXML"] = "False"
