"""Small SVG charts drawn on the server: the same code serves web pages and PDF reports.

Charts are plain SVG strings with a title and description for screen readers, and every value
also appears as text, so nothing depends on colour or on JavaScript.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape

PALETTE = ("#a3211f", "#0b5cad", "#1f6f3f", "#8a5a00", "#5b3f8f", "#2f6f73")


@dataclass
class Bar:
    label: str
    value: float
    target: float | None = None


def _num(value) -> float:
    return float(value) if isinstance(value, (Decimal, int, float)) else 0.0


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f}"


def progress_bars(bars: list[Bar], title: str, width: int = 640) -> str:
    """Horizontal bars of actual against target, one row each, with the percentage written out."""
    row, label_w, pad = 34, 170, 10  # label column, then the bar, then about 190 px of figures
    height = pad * 2 + row * max(1, len(bars)) + 10
    plot_w = width - label_w - 190
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{escape(title)}" class="chart">',
             f'<title>{escape(title)}</title>']
    for i, bar in enumerate(bars):
        y = pad + i * row
        target = _num(bar.target) if bar.target else 0.0
        value = _num(bar.value)
        scale = max(target, value, 1.0)
        filled = plot_w * min(value, scale) / scale
        share = f"{value / target * 100:.0f}%" if target else "—"
        colour = PALETTE[2] if target and value >= target else PALETTE[0]
        parts.append(f'<text x="0" y="{y + 18}" font-size="13" fill="#1d2430">{escape(bar.label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="18" fill="#e6e9ef" rx="3"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{filled:.1f}" height="18" fill="{colour}" rx="3"/>')
        if target:
            tx = label_w + plot_w * target / scale
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + 26}" stroke="#1d2430" stroke-width="2"/>')
        parts.append(f'<text x="{label_w + plot_w + 8}" y="{y + 18}" font-size="13" fill="#1d2430">'
                     f'{_fmt(value)} / {_fmt(target) if target else "—"} ({share})</text>')
    parts.append("</svg>")
    return "".join(parts)


def column_chart(labels: list[str], series: dict[str, list[float]], title: str, width: int = 640,
                 height: int = 240, links: list[str] | None = None) -> str:
    """Grouped columns (e.g. per month), with a legend and the values on top of each column. With
    `links` (one URL per label), each group of columns and its label lead to the rows behind them."""
    names = list(series)
    n = max(1, len(labels))
    left, bottom, top = 40, 40, 28
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max([_num(v) for values in series.values() for v in values] + [1.0])
    group_w = plot_w / n
    bar_w = max(4.0, (group_w - 8) / max(1, len(names)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{escape(title)}" class="chart">', f'<title>{escape(title)}</title>',
             f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#8a94a3"/>']
    for s, name in enumerate(names):
        parts.append(f'<rect x="{left + s * 110}" y="4" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>'
                     f'<text x="{left + s * 110 + 16}" y="14" font-size="12" fill="#1d2430">{escape(name)}</text>')
    for i, label in enumerate(labels):
        gx = left + i * group_w + 4
        link = links[i] if links and i < len(links) and links[i] else None
        if link:
            parts.append(f'<a href="{escape(link)}">')
        for s, name in enumerate(names):
            value = _num(series[name][i]) if i < len(series[name]) else 0.0
            h = plot_h * value / peak
            x = gx + s * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)} {escape(name)}: {_fmt(value)}</title></rect>')
            if h > 0 and bar_w >= 14:
                parts.append(f'<text x="{x + (bar_w - 1) / 2:.1f}" y="{top + plot_h - h - 3:.1f}" font-size="10" '
                             f'text-anchor="middle" fill="#1d2430">{_fmt(value)}</text>')
        parts.append(f'<text x="{gx + group_w / 2 - 4:.1f}" y="{height - bottom + 16}" font-size="11" '
                     f'text-anchor="middle" fill="#1d2430">{escape(label)}</text>')
        if link:
            parts.append("</a>")
    parts.append("</svg>")
    return "".join(parts)


def count_bars(items: list[tuple[str, float]], title: str, width: int = 640) -> str:
    """Horizontal bars of counts, one row each with its label above the bar and the value beside it:
    for long labels (kinds of finding, organizations) that columns would crowd."""
    row, pad, value_w = 44, 8, 70
    height = pad * 2 + row * max(1, len(items))
    plot_w = width - value_w
    peak = max([_num(v) for _label, v in items] + [1.0])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{escape(title)}" class="chart">', f'<title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        filled = plot_w * _num(value) / peak
        parts.append(f'<text x="0" y="{y + 13}" font-size="13" fill="#1d2430">{escape(label)}</text>')
        parts.append(f'<rect x="0" y="{y + 19}" width="{filled:.1f}" height="16" fill="{PALETTE[0]}" rx="3"/>')
        parts.append(f'<text x="{filled + 6:.1f}" y="{y + 32}" font-size="13" fill="#1d2430">{_fmt(_num(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)
