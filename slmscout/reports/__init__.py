"""Reports: renderings of an analysis (terminal, CSV)."""
