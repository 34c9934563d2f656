"""The PDF report: KPI tiles with trends, charts (tickets per day, by channel, CSAT) and the main
tables, drawn with ReportLab (no browser needed on the server). Text is escaped for ReportLab's
mini-markup, since names and search queries are user input."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from .tables import TABLES

KPI_LABELS = {
    "conversations": "Conversations",
    "resolved": "Resolved",
    "first_response_median_h": "First response (median, h)",
    "first_response_p90_h": "First response (p90, h)",
    "resolution_median_h": "Resolution (median, h)",
    "resolution_p90_h": "Resolution (p90, h)",
    "csat_average": "CSAT average",
    "csat_response_rate": "CSAT response rate",
    "bot_deflection_rate": "Bot deflection",
    "sla_first_response_compliance": "First-response SLA met",
}
PURPLE = "#7b2d8e"


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _bar_chart(labels: list[str], values: list[float], width: float, height: float) -> Any:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 20, width - 40, height - 30
    chart.data = [values or [0]]
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30 if len(labels) > 8 else 0
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor(PURPLE)
    drawing.add(chart)
    return drawing


def render(report: dict[str, Any], title: str = "Berry Support Hub — support report") -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=title, author="Berry Support Hub")
    width = A4[0] - 30 * mm
    rng = report["range"]
    filters = ", ".join(f"{k}={v}" for k, v in report["filters"].items()) or "none"
    story: list[Any] = [
        Paragraph(escape(title), styles["Title"]),
        Paragraph(
            escape(f"Range {rng['start']} to {rng['end']} ({rng['tz']}); filters: {filters}"),
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
    ]

    def table(columns: list[str], rows: list[list[Any]]) -> Table:
        data = [[Paragraph(f"<b>{escape(c)}</b>", styles["BodyText"]) for c in columns]]
        data += [[Paragraph(escape(_text(v)), styles["BodyText"]) for v in row] for row in rows]
        t = Table(data, repeatRows=1, hAlign="LEFT")
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d5dd")),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2e8f5")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    if "overview" in report:
        kpis = report["overview"]["kpis"]
        rows = [[KPI_LABELS.get(k, k), v["value"], v["previous"],
                 None if v["change"] is None else f"{v['change'] * 100:+.1f}%"] for k, v in kpis.items()]
        story += [
            Paragraph("Key figures", styles["Heading2"]),
            table(["", "this period", "previous", "change"], rows),
        ]
    if "volume" in report:
        days = report["volume"]["by_day"]
        story += [Paragraph("Conversations per day", styles["Heading2"]),
                  _bar_chart([d["date"][5:] for d in days], [d["count"] for d in days], width, 55 * mm)]
        by_channel = report["volume"]["by_channel"]
        story += [
            Paragraph("By channel", styles["Heading2"]),
            _bar_chart(
                [c["channel"] for c in by_channel], [c["count"] for c in by_channel], width / 2, 45 * mm
            ),
        ]
    if "csat" in report:
        dist = report["csat"]["distribution"]
        story += [Paragraph("CSAT distribution", styles["Heading2"]),
                  _bar_chart([f"{s}" for s in dist], list(dist.values()), width / 2, 45 * mm)]
    for name, heading in (
        ("response_times", "Response times (hours)"),
        ("agents", "Agents"),
        ("sla", "SLA compliance"),
        ("handoff_reasons", "Bot handoff reasons"),
        ("kb_no_results", "Searches without results"),
        ("contacts", "Consumers and providers"),
    ):
        section, build = TABLES[name]
        if section in report:
            columns, rows = build(report)
            story += [Paragraph(heading, styles["Heading2"]), table(columns, rows)]
    doc.build(story)
    return out.getvalue()


__all__ = ["render"]
