"""The workbook file as a package of parts: read it, take xlperf's sheets out, graft new ones in,
write it back with every other part byte for byte (opc: the parts; styles: formats appended;
graft: sheets moved in and out; write: what recalc, add-project and remove-project call)."""
