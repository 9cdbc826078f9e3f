"""Developer tools: `python3 -m xlperf.tools.pictures docs/img` makes the README's pictures."""
