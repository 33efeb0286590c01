"""Tables as a reader meets them on the page (DESIGN.md section 10): HTML, units in the headers,
numbers formatted, and long tables collapsed behind a one-line summary.

``show(df, caption=..., unitless=("seed",))`` returns a :class:`Table` that Jupyter, the book and
Colab display as HTML (``_repr_html_``); its plain-text form (``repr``) is the same table as text for
a terminal. Every numeric column must say its unit in its header, ``"test accuracy (%)"``, or be named
in ``unitless`` (counts, seeds, ids): a table whose numbers have no unit is an error, not a page. A
cell holding a list or a tuple is written as its items joined by ", " (never a Python repr); text cells
and headers are shown through :func:`thermo.text.readable` (``eta_tilde`` as ``η̃``, ``1e-05`` as ``10⁻⁵``).
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass

import pandas as pd

from thermo.errors import ConfigError
from thermo.text import readable

SHOW_ROWS = 12  # a table longer than this shows a summary line and collapses its rows


def _cell(value, digits: int) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_cell(v, digits) for v in value)
    if isinstance(value, bool) or value is None:
        return "-" if value is None else ("yes" if value else "no")
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}".replace(",", "\u2009") if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return "\u221e" if x > 0 else "-\u221e"
        return f"{x:.{digits}g}"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_cell(v, digits)}" for k, v in value.items())
    return str(value)


def _has_unit(name: str) -> bool:
    return "(" in name and name.rstrip().endswith(")")


@dataclass(frozen=True)
class Table:
    """A formatted table: ``header`` and ``rows`` of strings, a caption and a collapse threshold."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str
    show_rows: int = SHOW_ROWS
    summary: str | None = None

    @property
    def collapsed(self) -> bool:
        return len(self.rows) > self.show_rows

    def _html_rows(self, rows) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f'<table class="thermo-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def _repr_html_(self) -> str:
        cap = f"<p class=\"thermo-table-caption\">{html.escape(self.caption)}</p>" if self.caption else ""
        if not self.collapsed:
            return f'<div class="thermo-table-wrap">{cap}{self._html_rows(self.rows)}</div>'
        summary = self.summary or f"{len(self.rows)} rows: click to show them all"
        return (f'<div class="thermo-table-wrap">{cap}<details class="thermo-table-details">'
                f"<summary>{html.escape(summary)}</summary>{self._html_rows(self.rows)}</details></div>")

    def __repr__(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.header)]
        lines = [self.caption] if self.caption else []
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.header, widths)))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in self.rows]
        return "\n".join(lines)


def show(df: pd.DataFrame, caption: str = "", unitless=(), digits: int = 4, show_rows: int = SHOW_ROWS,
         summary: str | None = None, index: bool | None = None) -> Table:
    """``df`` as a :class:`Table`. Numeric columns need a unit in their header (``"name (unit)"``)
    unless listed in ``unitless``; numbers keep ``digits`` significant digits; a named index is shown
    as the first column (``index`` forces it on or off). Tables longer than ``show_rows`` collapse
    behind ``summary`` (default: the row count)."""
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"tables.show needs a pandas DataFrame, not {type(df).__name__}")
    if show_rows < 1 or digits < 1:
        raise ConfigError(f"show_rows ({show_rows}) and digits ({digits}) must be at least 1")
    if index is None:
        index = any(name is not None for name in df.index.names)
    frame = df.reset_index() if index else df
    unitless = set(unitless)
    missing = [str(c) for c in frame.columns if str(c) not in unitless and not _has_unit(str(c))
               and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    if missing:
        raise ConfigError(f"table {caption or '(no caption)'!r}: numeric column(s) {missing} have no unit; name them "
                          "'name (unit)' or list them in unitless=")
    rows = tuple(tuple(readable(_cell(v, digits)) for v in row) for row in frame.itertuples(index=False, name=None))
    return Table(tuple(readable(str(c)) for c in frame.columns), rows, caption, show_rows, summary)
