"""hub.spreadsheet.formula_safe: the one formula-injection rule of the CSV / XLSX exports."""

from __future__ import annotations

import io

import pytest

from hub.reports.tables import to_csv, to_xlsx
from hub.spreadsheet import formula_safe


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert formula_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["", "plain", "a=b", " =1", "'=already", "5", "{\"a\": 1}"])
def test_other_text_is_unchanged(text: str) -> None:
    assert formula_safe(text) == text


def test_report_exports_quote_text_but_keep_numbers_numbers() -> None:
    table = (["name", "n"], [["-5", -5], ["=1+1", 2.5], [None, 0]])
    assert to_csv(table).decode().splitlines() == ["name,n", "'-5,-5", "'=1+1,2.5", ",0"]
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(to_xlsx("t", table, {}))).active
    cells = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert cells == [["'-5", -5], ["'=1+1", 2.5], [None, 0]]
    assert ws["B2"].data_type == "n" and ws["A3"].data_type == "s"
