"""Numbers a reader cannot misread (DESIGN.md section 10): the book numbers its own figures and
equations across the whole book, so a paper's figure, equation or table is always named with its
owner ("the paper's Fig. 4", "TempBalance's eq. 3", "its Table 1"), and the book's own are referenced
only through ``{numref}`` / ``{eq}``. Checked on every chapter's prose (Markdown cells) and on every
figure caption lead written in the papers' ``plots.py``.
"""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
PLOTS = sorted((ROOT / "lib" / "thermo" / "papers").glob("*/plots.py"))

# "Fig. 3", "Figs. 5-7", "Figure 2", "eq. 3", "Eqs. (6)-(8)", "equation 5", "Table 1" (also S-numbered).
REFERENCE = re.compile(r"\b(Figs?\.|Figures?|[Ee]qs?\.|[Ee]quations?|Tables?)\s*\(?S?\d")
# What may name the owner just before it: a possessive ("the paper's", "TempBalance's", "Gur-Ari's",
# "papers'") or "its" / "their".
OWNER = re.compile(r"(?:\b[\w-]+'s?|\b[\w-]+s'|\bits|\btheir)\s+(?:[\w.-]+\s+)?$")
# ... or just after it: "Fig. 3 of the paper", "Fig. 3 of TempBalance", "Fig. 3 of {cite}`...`".
OWNER_AFTER = re.compile(r"^[\s\dS().,\-\u2013a-z]*?\bof\s+(?:the\s+paper|the\s+papers|\{cite|[A-Z])")
# Inline code and math are not prose; roles such as {numref}`Fig. %s <label>` carry no digits.
CODE = re.compile(r"`[^`]*`|\$[^$]*\$")


def bare_references(text: str) -> list[str]:
    """Every paper-style reference in ``text`` that does not say whose it is."""
    text = CODE.sub(lambda m: " " * len(m[0]), text)
    found = []
    for match in REFERENCE.finditer(text):
        before = text[max(0, match.start() - 40):match.start()]
        after = text[match.end():match.end() + 40]
        if OWNER.search(before) or OWNER_AFTER.match(after):
            continue
        found.append(text[max(0, match.start() - 30):match.end() + 10].replace("\n", " "))
    return found


def markdown_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


def _strings(node) -> list[str]:
    return [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)]


def caption_leads(source: str) -> list[str]:
    """String literals that become caption text: a ``CAPTIONS`` table, the arguments of ``Caption(...)``,
    and the lead (keyword or fourth argument) and title of ``publish`` / ``save``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a notebook cell with IPython syntax
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "CAPTIONS" for t in node.targets):
            out += _strings(node.value)
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
        values = list(node.args) if name == "Caption" else []
        values += list(node.args[3:4]) if name in ("publish", "save") else []
        values += [k.value for k in node.keywords if k.arg in ("lead", "title")]
        for value in values:
            out += _strings(value)
    return out


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_prose_names_whose_figure_or_equation(path):
    bare = [ref for cell in markdown_cells(path) for ref in bare_references(cell)]
    assert not bare, (f"{path.relative_to(ROOT)}: say whose figure/equation it is (\"the paper's Fig. 4\") or use "
                      f"{{numref}}/{{eq}} for the book's own: {bare}")


@pytest.mark.parametrize("path", PLOTS + CHAPTERS, ids=lambda p: p.parent.name + "/" + p.stem)
def test_caption_leads_name_whose_figure(path):
    sources = [path.read_text(encoding="utf-8")] if path.suffix == ".py" else code_cells(path)
    bare = [ref for src in sources for lead in caption_leads(src) for ref in bare_references(lead)]
    assert not bare, f"{path.relative_to(ROOT)}: caption text with a bare reference: {bare}"


def test_report_claims_name_whose_figure_or_equation():
    """The report shows every claim's statement, paper value and rule next to each other papers' rows."""
    from thermo import catalog

    bare = {c.id: refs for c in catalog.all_claims().values()
            for refs in [[r for t in (c.statement, c.paper_value, c.rule.text) for r in bare_references(t)]] if refs}
    assert not bare, bare


@pytest.mark.parametrize("text", [
    "PL_Alpha_Hill (eq. 3, k = M/2)", "as in Fig. 1 below", "The scheduler: eq. 2",
    "see Figs. 5-7", "Table 1 gives", "Equation (18) of the chapter",
])
def test_bare_references_are_found(text):
    assert bare_references(text)


@pytest.mark.parametrize("text", [
    "TempBalance's eq. 3", "the paper's Fig. 4 shows", "its Table 1", "their Figs. 5-7",
    "the paper's supplementary Fig. S9", "Fig. 3 of the paper", "Fig. 3 of {cite}`zhou2023tempbalance`",
    "{numref}`Fig. %s <tb-fig3-main>`", "see {eq}`tb-hill`", "`fig. 3` in code", "Lewkowycz and Gur-Ari's Fig. 2",
    "a 3 x 3 table", "figures 1 to 3 of ours" * 0 + "the paper's Figs. 10-11",
])
def test_owned_and_book_references_pass(text):
    assert not bare_references(text)
