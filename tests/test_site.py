"""The built site (``make test`` builds it with the smoke profile first and points ``THERMO_SITE``
at it): every figure manifest resolves at its stable URL, every figure a chapter publishes is in
the generated gallery, and the report lists every claim. Skipped when no site was built."""

import json
import os
import re
from pathlib import Path

import pytest

from thermo import report

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ["THERMO_SITE"]).resolve() if os.environ.get("THERMO_SITE") else None
PROFILE = os.environ.get("THERMO_PROFILE", "quick")
pytestmark = pytest.mark.skipif(SITE is None, reason="no built site: set THERMO_SITE (make test does)")


def toc_chapters() -> set:
    """Docnames in the table of contents (a notebook outside it is work in progress, not built)."""
    return set(re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()))


def manifests():
    folder = SITE / "_static" / "figures" / PROFILE
    mans = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    return [m for m in mans if not m.get("chapter") or m["chapter"] in toc_chapters()]


def published_ids():
    ids = set()
    for nb in (ROOT / "notebooks").rglob("*.ipynb"):
        if nb.relative_to(ROOT).with_suffix("").as_posix() not in toc_chapters():
            continue
        text = "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"])
        ids |= set(re.findall(r"```\{glue:figure\} ([a-z0-9-]+)\n", text))
    return ids


def test_every_published_figure_has_a_manifest_in_the_site():
    assert published_ids() <= {m["id"] for m in manifests()}


def test_every_manifest_id_resolves_at_its_stable_url():
    for m in manifests():
        for ext in ("png", "pdf", "csv", "json"):
            path = SITE / "_static" / "figures" / m["profile"] / f"{m['id']}.{ext}"
            assert path.is_file() and path.stat().st_size > 0, path


def test_the_gallery_lists_every_figure_with_its_bibtex():
    gallery = (SITE / "book" / "figures.html").read_text()
    for m in manifests():
        assert f"thermobook-{m['id']}-{m['profile']}" in gallery, f"{m['id']} has no BibTeX entry"
        assert f'src="../_static/figures/{m["profile"]}/{m["id"]}.png"' in gallery, f"{m['id']} has no thumbnail"
        assert re.search(rf'href="[^"]*#{m["id"]}"', gallery), f"{m['id']}: no link to the figure in its chapter"


def test_the_report_lists_every_claim_with_its_status():
    page = (SITE / "book" / "report.html").read_text()
    for a in report.assess_all(PROFILE):
        row = page[page.index(f"<code class=\"docutils literal notranslate\"><span class=\"pre\">{a.claim.id}"):]
        assert a.status in row[:row.index("</tr>")], a.claim.id


def test_every_published_csv_holds_the_plotted_data():
    """A CSV with only its header cites nothing (``tb-alg1-scales`` was one: a heatmap)."""
    folder = SITE / "_static" / "figures" / PROFILE
    for m in manifests():
        lines = (folder / m["files"]["csv"]).read_text().splitlines()
        assert len(lines) > 1, f"{m['id']}: its CSV holds only the header"


AUTHOR_YEAR = re.compile(r"[A-Z][\w'-]+(?: and [A-Z][\w'-]+| et al\.)?, \d{4}[a-z]?")


def test_one_citation_style_author_year_on_every_page():
    """The References page labels its entries with the author-year words the text cites them by
    (no alpha codes such as [ZPL+23])."""
    html = (SITE / "book" / "references.html").read_text(encoding="utf-8")
    labels = re.findall(r'<span class="fn-bracket">\[</span>([^<]*)<span class="fn-bracket">\]</span>', html)
    assert len(labels) >= 8, labels
    assert all(AUTHOR_YEAR.fullmatch(label) for label in labels), labels
    cited = set()
    for page in (SITE / "notebooks").rglob("*.html"):
        cited |= set(re.findall(r'references\.html#[^"]*"[^>]*>([^<]+)</a>', page.read_text(encoding="utf-8")))
    texts = {c.strip() for c in cited}
    assert texts and texts <= set(labels), texts - set(labels)  # the text's words are the References' labels


def test_the_gallery_is_in_book_order_and_links_every_manifest():
    html = (SITE / "book" / "figures.html").read_text(encoding="utf-8")
    shown = re.findall(r'_static/figures/\w+/([a-z0-9-]+)\.json">manifest</a>', html)
    assert sorted(shown) == sorted(m["id"] for m in manifests())
    chapters = [c for c in re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()) if c.startswith("notebooks/")]
    rank = {c: i for i, c in enumerate(chapters)}
    chapter_of = {m["id"]: m["chapter"] for m in manifests()}
    order = [rank[chapter_of[f]] for f in shown]
    assert order == sorted(order), "the gallery's chapters are not in the order of the book"
