"""`python -m xlperf.wps`: regenerate the add-in's ribbon.xml and actions.js from xlperf/actions/actions.toml."""
from . import write_generated

write_generated()
