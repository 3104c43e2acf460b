"""The statistics page, ``/stats`` (English/French), its charts, and the home page's summary.

What it owns: the ``/stats`` page (every figure of :mod:`orgbook.projections.stats` as a chart
and, beside it, the same data as an HTML table), the charts themselves as SVG documents
(``/stats/charts/{name}.svg``, drawn on the server with pygal: a title, a description, labels in
the reader's language, no script).
The page reads without JavaScript; the charts are images whose ``alt`` says what they show and
whose table is next to them. Charts are cached per checkpoint, chart and language.

What it must not do: compute figures (the shared :class:`~orgbook.projections.stats.StatsCache`
of :mod:`orgbook.verifier.stats_api` does) or query the database.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from orgbook.config import Settings
from orgbook.http.caching import etag_for, not_modified
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.projections.stats import Count, RegisterStats
from orgbook.verifier.i18n import Translator
from orgbook.verifier.pages import web_pages
from orgbook.verifier.stats_api import CHECKPOINT_URL, current_stats

__all__ = ["CHARTS", "Chart", "router"]

SVG_MEDIA = "image/svg+xml"
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
TOP = 15
"""A chart shows at most this many bars (the largest); its table lists every value."""


@dataclass(frozen=True, slots=True)
class Chart:
    name: str
    kind: str  # "bar" (categories) or "month" (a time series)
    values: Callable[[RegisterStats], list[Count]]
    label_group: str | None  # the messages' vocabulary group of its values


CHARTS: tuple[Chart, ...] = (
    Chart("jurisdiction", "bar", lambda s: s.by_jurisdiction, "jurisdiction"),
    Chart("entity_type", "bar", lambda s: s.by_entity_type, "entity_type"),
    Chart("status", "bar", lambda s: s.by_status, "status"),
    Chart("credential_type", "bar", lambda s: s.by_credential_type, "credential_type"),
    Chart("issuer", "bar", lambda s: s.by_issuer, None),
    Chart("registrations", "month", lambda s: s.registrations_per_month, None),
    Chart("issuances", "month", lambda s: s.issuances_per_month, None),
)
_BY_NAME = {chart.name: chart for chart in CHARTS}


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    count: int
    code: str


def month_label(t: Translator, value: str) -> str:
    """``2024-03`` → ``March 2024`` / ``mars 2024``."""
    year, _, month = value.partition("-")
    if not month.isdigit() or not 1 <= int(month) <= 12:
        return value
    return t("stats.month_year", month=t(f"month.{int(month)}"), year=year)


def _label(t: Translator, chart: Chart, count: Count) -> str:
    if chart.label_group == "entity_type":
        name = t.messages.get(f"entity_type.{count.value}")
        return f"{name} ({count.value})" if name else count.value
    if count.names:  # a registered credential type, named in the page's language
        return count.names.get(t.locale) or count.names.get("en") or count.value
    if chart.label_group is not None:
        return t.label(chart.label_group, count.value)
    if chart.kind == "month":
        return month_label(t, count.value)
    return count.label or count.value


def rows(t: Translator, chart: Chart, stats: RegisterStats) -> list[Row]:
    return [Row(_label(t, chart, c), c.count, c.value) for c in chart.values(stats)]


def _version(stats: RegisterStats) -> str:
    return stats.checkpoint.note_sha256[:16] if stats.checkpoint else "empty"


def _pygal() -> Any:
    """pygal, imported on first use, without the import hook it installs.

    Importing pygal appends a legacy ``sys.meta_path`` finder (``PluginImportFixer``, for its
    map plugins, which orgbook does not use); Python ≥ 3.10 warns (``ImportWarning``) on every
    later import that reaches it. It is taken out again.
    """
    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]
    return pygal


LABEL_CHARS = 34
"""The longest category label a chart draws whole (pygal shrinks the plot to fit its labels)."""


def count_ticks(largest: int, most: int = 8) -> list[int]:
    """At most ``most`` + 1 whole-number ticks from 0 past ``largest``, 1, 2 or 5 × 10ⁿ apart
    (pygal's own ticks fall between whole numbers for small counts, and print one twice)."""
    step = 1
    while largest > step * most:
        step = _next_step(step)
    return list(range(0, largest + step, step)) if largest else [0, 1]


def _shortened(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _next_step(step: int) -> int:
    """1 → 2 → 5 → 10 → 20 → 50 …"""
    digits = str(step)
    return step * 5 // 2 if digits[0] == "2" else step * 2


def render_svg(t: Translator, chart: Chart, stats: RegisterStats) -> bytes:
    """The chart as a standalone SVG document (no script, no external reference)."""
    pygal = _pygal()
    from pygal.style import Style

    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1b1b1b",
        foreground_strong="#000000",
        foreground_subtle="#595959",
        colors=("#1d5a8e",),
        font_family="system-ui, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        title_font_size=16,
        value_font_size=12,
    )
    data = rows(t, chart, stats)
    common = {
        "js": [],
        "disable_xml_declaration": True,
        "show_legend": False,
        "style": style,
        "title": t(f"stats.chart.{chart.name}.title"),
        "width": 720,
        "print_values": chart.kind == "bar",
        "value_formatter": lambda v: t.number(int(v)) if v is not None else "",
        "no_data_text": t("stats.no_data"),
    }
    graph: Any
    if chart.kind == "month":
        graph = pygal.Bar(height=360, x_label_rotation=-45, show_minor_x_labels=False, **common)
        graph.x_labels = [r.code for r in data]
        graph.x_labels_major = [r.code for r in data][:: max(1, len(data) // 12)]
    else:
        data = list(reversed(data[:TOP]))  # pygal draws the first bar at the bottom
        # long names are cut in the chart (the table beside it has them whole)
        graph = pygal.HorizontalBar(height=max(200, 60 + 32 * len(data)), **common)
        graph.x_labels = [_shortened(r.label) for r in data]
    graph.y_labels = count_ticks(max((r.count for r in data), default=0))
    graph.add(t("stats.series"), [r.count for r in data])
    svg: str = graph.render(is_unicode=True)
    # pygal always embeds a script with its configuration (for its optional tooltips): an SVG
    # shown as an image runs none, and a chart needs none, so it goes
    return _SCRIPT.sub("", svg).encode("utf-8")


class StatsPages:
    """The page and its charts (the charts cached per checkpoint, chart and language)."""

    def __init__(self, settings: Settings) -> None:
        self.pages = web_pages()
        self._svg: dict[tuple[str, str, str], tuple[bytes, str]] = {}

    async def page(self, request: Request) -> Response:
        stats = await current_stats(request)
        t, _ = self.pages.locale_of(request)
        version = _version(stats)
        charts = [
            {
                "chart": chart,
                "rows": rows(t, chart, stats),
                "src": f"/stats/charts/{chart.name}.svg?lang={t.locale}&v={version}",
                "title": t(f"stats.chart.{chart.name}.title"),
                "desc": t(f"stats.chart.{chart.name}.desc"),
                "column": t(f"stats.chart.{chart.name}.column"),
            }
            for chart in CHARTS
        ]
        return self.pages.render(
            request,
            "stats.html",
            "stats",
            stats=stats,
            charts=charts,
            checkpoint_url=CHECKPOINT_URL,
            top=TOP,
        )

    async def chart(self, request: Request, name: str) -> Response:
        chart = _BY_NAME.get(name.removesuffix(".svg"))
        if chart is None or not name.endswith(".svg"):
            return self.pages.error_page(request, 404)
        stats = await current_stats(request)
        t, _ = self.pages.locale_of(request)
        key = (_version(stats), chart.name, t.locale)
        found = self._svg.get(key)
        if found is None:
            body = render_svg(t, chart, stats)
            found = (body, etag_for(body))
            self._svg = {k: v for k, v in self._svg.items() if k[0] == key[0]}
            self._svg[key] = found
        body, etag = found
        headers = {"ETag": etag, "Cache-Control": "public, max-age=60", "Vary": "Cookie"}
        if not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=SVG_MEDIA, headers=headers)


def router(settings: Settings) -> APIRouter:
    """``/stats`` and ``/stats/charts/{name}.svg`` (HTML and images: not in the OpenAPI)."""
    pages = StatsPages(settings)
    web = APIRouter(
        route_class=PooledRoute, include_in_schema=False, dependencies=[rate_limited("read")]
    )
    web.add_api_route("/stats", pages.page, methods=["GET"], response_class=Response)
    web.add_api_route("/stats/charts/{name}", pages.chart, methods=["GET"], response_class=Response)
    return web
