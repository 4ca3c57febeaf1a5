"""The tiers lab's tables in words: per-tier ages, loads and costs, and the advisor's
answers, with human column names ("data age p95", not ``age_p95_s``), ages as "48 min"
and money as "$11,200–14,400", rendered as HTML that wraps long text instead of being
cut off.

>>> from rtnb import tiers
>>> sims = tiers.simulate_tiers(10.0, viewers=20, hours=0.5)
>>> t = tier_table(sims, tiers.CostModel())
>>> t.loc["Batch", "delivery"], t.columns[:3].tolist()
('job every 1 h, pages reload every 15 min', ['delivery', 'data age p50', 'data age p95'])
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ._format import duration, money, si

__all__ = ["pattern_words", "tier_table", "grouped_columns", "style_table", "advice_table", "html_table",
           "checklist_html", "numeric_columns"]


def pattern_words(pattern: Any) -> str:
    """A delivery pattern in words, as the advisor says it (the pattern's ``label``),
    with its cadence where it has one: 'short polling every 1 min', 'Server-Sent Events'.

    >>> from rtnb import tiers
    >>> [pattern_words(tiers.pattern_for(t)) for t in ("near_real_time", "real_time", "sub_second")]
    ['short polling every 1 min', 'Server-Sent Events', 'WebSockets']
    """
    name = getattr(pattern, "name", str(pattern))
    if name == "polling":
        return f"{pattern.label} every {duration(pattern.interval)}"
    if name == "batch_refresh":
        return f"job every {duration(pattern.every)}, pages reload every {duration(pattern.reload)}"
    return getattr(pattern, "label", "") or name.replace("_", " ")


def _bytes_per_s(v: float) -> str:
    text = si(v)
    number, prefix = (text[:-1], text[-1]) if text[-1:].isalpha() else (text, "")
    return f"{number} {prefix}B/s"


def _label(tier: str) -> str:
    from ..tiers import get_tier

    return get_tier(tier).label


def tier_table(sims: Mapping[str, Any], cost: Any) -> pd.DataFrame:
    """Per tier (its label as the index): delivery, data age p50/p95/max, requests/s,
    open connections, traffic, build, per month and per year — all strings."""
    rows = {}
    for name, sim in sims.items():
        est = cost.estimate(name, sim)
        load = sim.load_mean
        rows[_label(name)] = {
            "delivery": pattern_words(sim.pattern),
            "data age p50": duration(sim.age_p50),
            "data age p95": duration(sim.age_p95),
            "data age max": duration(sim.age_max),
            "requests/s": si(load["requests_per_s"]),
            "open connections": si(load["open_connections"]),
            "traffic": _bytes_per_s(load["bytes_per_s"]),
            "build": money(est.build),
            "per month": money(est.monthly),
            "per year": money(est.per_year),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "tier"
    return out


#: :func:`tier_table`'s columns under a group header and a short one of their own.
_GROUPS = {
    "delivery": ("", "delivery"),
    "data age p50": ("data age", "median"), "data age p95": ("data age", "p95"), "data age max": ("data age", "max"),
    "requests/s": ("load", "requests/s"), "open connections": ("load", "connections"), "traffic": ("load", "traffic"),
    "build": ("cost", "build"), "per month": ("cost", "per month"), "per year": ("cost", "per year"),
}


def grouped_columns(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`tier_table` with its columns in groups — data age (median, p95, max), load,
    cost — so each header is one or two short words and never wraps.

    The index's name ("tier") becomes the name of the headers' second level: a styled
    table (``.style``) shows it in the corner of the header row of short names, not on
    a header row of its own under them (the extra row notebook 02's table had).

    >>> from rtnb import tiers
    >>> t = grouped_columns(tier_table(tiers.simulate_tiers(10.0, viewers=20, hours=0.5), tiers.CostModel()))
    >>> t.columns[1], t.loc["Batch", ("data age", "median")]
    (('data age', 'median'), '1 h')
    >>> t.index.name, list(t.columns.names)
    (None, [None, 'tier'])
    """
    out = table.copy()
    out.columns = pd.MultiIndex.from_tuples([_GROUPS.get(c, ("", c)) for c in table.columns],
                                            names=[None, table.index.name])
    out.index.name = None
    return out


# A value that reads as a number: "0.222", "$8,000", "2.2 min", "10 kB/s", "$1.05–2.56".
_NUMBER = re.compile(r"^[-−–]?\$?[-−]?\d")


def numeric_columns(frame: pd.DataFrame) -> list[Any]:
    """The columns of ``frame`` (of strings) whose values read as numbers (at least half of
    them, the others words like "not needed (batch)"): they are right-aligned, with their
    headers, so the digits line up and the header sits over them.

    >>> numeric_columns(pd.DataFrame({"delivery": ["short polling every 1 min"], "p95": ["2.2 min"],
    ...                               "build": ["$8,000"], "pays off": ["not needed (batch)"]}))
    ['p95', 'build']
    """
    out = []
    for col in frame.columns:
        values = [str(v) for v in frame[col] if str(v) not in ("", "–")]
        if values and sum(bool(_NUMBER.match(v)) for v in values) * 2 >= len(values):
            out.append(col)
    return out


def style_table(table: pd.DataFrame) -> Any:
    """:func:`grouped_columns`'s table as a pandas ``Styler`` for reading: each group's
    name centred over its columns with a rule under it (right-aligned, "load" read as the
    header of "traffic" alone), the numbers right-aligned under right-aligned headers, the
    words (the tiers, the delivery) left-aligned; values on one line, the delivery's
    words wrapping where the page is narrow. The same in JupyterLab, Notebook 7 and Voila
    (the rules are the table's own, not the page's).

    >>> from rtnb import tiers
    >>> t = grouped_columns(tier_table(tiers.simulate_tiers(10.0, viewers=20, hours=0.5), tiers.CostModel()))
    >>> html = style_table(t).to_html()
    >>> "th.col_heading.level0" in html and "text-align: center" in html
    True
    """
    numeric = set(numeric_columns(table))
    cells = []
    for i, col in enumerate(table.columns):
        side = "right" if col in numeric else "left"
        wrap = "normal" if side == "left" else "nowrap"
        cells.append({"selector": f"td.col{i}, th.col_heading.level{table.columns.nlevels - 1}.col{i}",
                      "props": f"text-align: {side}; white-space: {wrap}"})
    groups = [
        {"selector": "th.col_heading.level0", "props": "text-align: center; white-space: nowrap"},
        # a rule under each group's name, short of its ends (borders of cells side by side
        # would join into one rule across the groups)
        {"selector": "th.col_heading.level0:not(:empty)",
         "props": "background: linear-gradient(#bbb, #bbb) no-repeat center bottom / calc(100% - 12px) 1px"},
        {"selector": "th.row_heading, th.index_name", "props": "text-align: left; white-space: nowrap"},
    ]
    return table.style.set_table_styles(groups + cells)


def _why(rec: Any) -> str:
    """The reasons that decided (the test, the classification, the break-even steps),
    without the closing 'Recommended: ...' line the other columns already show."""
    reasons = [r for r in rec.reasons if not r.startswith("Recommended:")]
    return " ".join(reasons)


def _break_even(rec: Any) -> str:
    if rec.break_even_value is None:
        return "not needed (batch)"
    be = rec.break_even_value
    if be.high <= 0:
        return "always (no extra cost)"
    return money(be)


def advice_table(recommendations: Iterable[Any]) -> pd.DataFrame:
    """The advisor's answers (``Recommendation`` objects), one row per metric, in words."""
    rows = {}
    for r in recommendations:
        m = r.metric
        rows[m.name.replace("_", " ")] = {
            "needs": f"max age {duration(m.max_age)}, response within {duration(m.response_time)}",
            "changes in 10 min?": "yes" if r.decision_changes else "no",
            "tier": r.tier.label,
            "delivery": pattern_words(r.pattern),
            "data age p95": duration(r.age.get("p95")),
            "build": money(r.cost.build),
            "per month": money(r.cost.monthly),
            "pays off above (per min of delay, per year)": _break_even(r),
            "checklist left": str(sum(not c.done for c in r.checklist)),
            "why": _why(r),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "metric"
    return out


_CSS = ("border-collapse:collapse;font-size:12px;line-height:1.35;margin:4px 0",
        "text-align:left;padding:3px 6px;border-bottom:1px solid #ccc;vertical-align:bottom;min-width:48px",
        "padding:3px 6px;vertical-align:top")


def html_table(frame: pd.DataFrame, *, wrap: Iterable[str] = (), note: str | None = None, caption: str = "") -> str:
    """``frame`` as a compact HTML table that fits a notebook's width: columns in
    ``wrap`` wrap (max 190 px), every other cell stays on one line, and the ``note``
    column (a long text, e.g. the advisor's reasons) goes in full on a row of its own
    under each row, never cut. Text is escaped.

    >>> print(html_table(pd.DataFrame({"a": ["1 s"]}, index=pd.Index(["x"], name="k"))))  # doctest: +ELLIPSIS
    <table class="rtnb-table" ...><tr><th ...>k</th><th ...>a</th></tr><tr><th ...>x</th><td ...>1 s</td></tr></table>
    """
    wrap = set(wrap)
    table_css, th_css, td_css = _CSS
    cols = [c for c in frame.columns if c != note]
    right = set(numeric_columns(frame[cols]))  # numbers right-aligned, under right-aligned headers
    align = {c: ";text-align:right" if c in right else "" for c in cols}
    head = "".join(f'<th style="{th_css}{align.get(c, "") if i else ""}">{html.escape(str(c))}</th>'
                   for i, c in enumerate([frame.index.name or ""] + cols))
    line = "border-bottom:1px solid #eee"
    body = []
    for key, row in frame.iterrows():
        last = "" if note is not None else line
        cells = [f'<th style="{th_css};vertical-align:top;white-space:nowrap;{last}">{html.escape(str(key))}</th>']
        for col in cols:
            style = (f"{td_css};{last}{align[col]};"
                     + ("white-space:normal;max-width:190px" if col in wrap else "white-space:nowrap"))
            cells.append(f'<td style="{style}">{html.escape(str(row[col]))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
        if note is not None:
            body.append(f'<tr class="rtnb-note"><td></td><td colspan="{len(cols)}" style="{td_css};{line};'
                        f'white-space:normal;color:#555;padding-bottom:6px"><i>{html.escape(str(note))}:</i> '
                        f'{html.escape(str(row[note]))}</td></tr>')
    cap = f'<caption style="caption-side:top;text-align:left;padding:2px 0">{html.escape(caption)}</caption>' if caption else ""
    return f'<table class="rtnb-table" style="{table_css}">{cap}<tr>{head}</tr>{"".join(body)}</table>'


def checklist_html(rec: Any) -> str:
    """One recommendation in full: its reasons in order and the implementation checklist."""
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in rec.reasons)
    items = "".join(
        f"<li style='list-style:none'>{'&#9745;' if c.done else '&#9744;'} <b>{html.escape(c.item)}</b>: "
        f"{html.escape(c.note)}</li>" for c in rec.checklist)
    return (f"<div class='rtnb-advice' style='font-size:13px'><b>{html.escape(rec.metric.name.replace('_', ' '))}: "
            f"{html.escape(rec.tier.label)} via {html.escape(pattern_words(rec.pattern))}</b>"
            f"<ol style='margin:4px 0'>{reasons}</ol><b>Implementation checklist</b>"
            f"<ul style='margin:4px 0;padding-left:8px'>{items}</ul></div>")
