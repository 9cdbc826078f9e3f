"""`python -m xlperf.template` regenerates workbook_templates/绩效自评模板.xlsx."""
from .build import write_template

print(write_template())
