"""Fiscal-year figures, charts, exports and the start pages' counts."""
