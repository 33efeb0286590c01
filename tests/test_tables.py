"""thermo.tables: HTML tables with units, no reprs, long tables collapsed."""

import html.parser

import pandas as pd
import pytest

from thermo import tables
from thermo.errors import ConfigError


class _Cells(html.parser.HTMLParser):
    """An independent reading of the HTML: the text of every th / td, and whether a <details> wraps."""

    def __init__(self):
        super().__init__()
        self.header, self.cells, self.details, self._in = [], [], False, None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._in = tag
        if tag == "details":
            self.details = True

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "th":
            self.header.append(data)
        elif self._in == "td":
            self.cells.append(data)


def parse(table) -> _Cells:
    p = _Cells()
    p.feed(table._repr_html_())
    return p


def test_a_table_renders_as_html_with_its_headers_and_formatted_cells():
    df = pd.DataFrame({"learning rate": [0.1, 0.25], "test accuracy (%)": [91.23456, 92.0], "seed": [1, 2]})
    parsed = parse(tables.show(df, caption="two runs", unitless=("learning rate", "seed"), digits=3))
    assert parsed.header == ["learning rate", "test accuracy (%)", "seed"]
    assert parsed.cells == ["0.1", "91.2", "1", "0.25", "92", "2"]
    assert not parsed.details


def test_lists_tuples_and_dicts_are_never_shown_as_python_reprs():
    df = pd.DataFrame({"layers": [[1, 2], (3,)], "grid": [{"lr": 0.1}, None]})
    text = tables.show(df)._repr_html_() + repr(tables.show(df))
    for marker in ("[", "(3,)", "{'", "None"):
        assert marker not in text.replace("<", "").replace("(runs)", ""), marker
    assert "1, 2" in text and "lr 0.1" in text


def test_a_numeric_column_without_a_unit_is_refused():
    df = pd.DataFrame({"accuracy": [0.9], "n (runs)": [3]})
    with pytest.raises(ConfigError, match="accuracy"):
        tables.show(df)
    tables.show(df, unitless=("accuracy",))  # named as unitless: accepted


def test_long_tables_collapse_behind_their_summary():
    df = pd.DataFrame({"step (iterations)": range(30)})
    parsed = parse(tables.show(df, summary="thirty steps"))
    assert parsed.details and len(parsed.cells) == 30
    assert "thirty steps" in tables.show(df, summary="thirty steps")._repr_html_()
    assert not parse(tables.show(df, show_rows=30)).details


def test_a_named_index_becomes_the_first_column():
    df = pd.DataFrame({"loss (nats)": [0.5, 0.25]}, index=pd.Index(["a", "b"], name="model"))
    assert parse(tables.show(df)).header == ["model", "loss (nats)"]
    assert parse(tables.show(df.reset_index(drop=True))).header == ["loss (nats)"]


def test_cells_are_escaped():
    df = pd.DataFrame({"name": ["<b>x</b>"]})
    assert "<b>x</b>" not in tables.show(df)._repr_html_()


@pytest.mark.parametrize("bad", [dict(show_rows=0), dict(digits=0)])
def test_bad_arguments_get_one_clear_error(bad):
    with pytest.raises(ConfigError):
        tables.show(pd.DataFrame({"a (m)": [1.0]}), **bad)


def test_only_dataframes_are_tables():
    with pytest.raises(ConfigError, match="DataFrame"):
        tables.show({"a": 1})
