"""Spreadsheet downloads: one sheet with a bold header row, typed values, and text that Excel shows
as text — never runs (a customer named "=HYPERLINK(…)" stays a name)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.http import HttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(
    filename: str, title: str, headers: list[str], rows: list[list[Any]], formats: dict[int, str] | None = None
) -> HttpResponse:
    """One sheet: a bold header row, then the rows as typed values (numbers as numbers, dates as
    dates); `formats` gives a number format per 0-based column (shares as "0%"). openpyxl stores any
    text starting with "=" as a formula: such text is stored as text here."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                cell.data_type = "s"  # our data is never a formula
    for index, number_format in (formats or {}).items():
        for cells in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
            cells[0].number_format = number_format
    for column, header in zip(sheet.columns, headers, strict=False):
        sheet.column_dimensions[column[0].column_letter].width = max(10, min(len(str(header)) * 2 + 2, 40))
    sheet.freeze_panes = "A2"
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
