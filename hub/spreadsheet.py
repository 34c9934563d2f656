"""Spreadsheet formula injection: the one rule every CSV / XLSX export applies to its text cells.

A spreadsheet runs a cell that starts with ``= + - @`` (or tab / CR, which some strip first) as a
formula, so exported user input (names, search queries, audit targets) gets a leading ``'``: the
cell then shows the text instead of running it. Numbers are not text and stay numbers.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would read it as a formula, else unchanged."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


__all__ = ["FORMULA_STARTS", "formula_safe"]
