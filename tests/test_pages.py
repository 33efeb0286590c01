"""The page-level helpers of thermo.sphinx_ext: alt text, figure links, the gallery's book order and
the author-year labels of the References page (checked without building the site; the built site
is checked by tests/test_browser.py)."""

import json
from types import SimpleNamespace

import pytest
from docutils import nodes
from pybtex.database import Entry, Person

from thermo import sphinx_ext


@pytest.mark.parametrize("text,first", [
    ("APT of every layer. Experiment x v1.", "APT of every layer."),
    ("TB beats CAL by 0.3 pt at eta 0.1. Seeds 1, 2.", "TB beats CAL by 0.3 pt at eta 0.1."),
    ("Reproduces the paper's Fig. 3 (left). Profile quick.", "Reproduces the paper's Fig. 3 (left)."),
    ("No full stop at all", "No full stop at all"),
    ("Two\nlines.  Then more.", "Two lines."),
])
def test_first_sentence_is_the_alt_text(text, first):
    assert sphinx_ext.first_sentence(text) == first


@pytest.mark.parametrize("tex,words", [
    (r"PL_Alpha_Hill $\hat\alpha$ of $M \times M$ matrices.", "PL_Alpha_Hill hat alpha of M times M matrices."),
    (r"Loss against $\tilde\eta\, t$ (log).", "Loss against tilde eta t (log)."),
    ("No math at all.", "No math at all."),
])
def test_alt_text_reads_math_as_words(tex, words):
    assert sphinx_ext.plain_math(tex) == words


def _entry(authors, year="2020", title="A title"):
    e = Entry("misc", fields={"title": title, "year": year})
    e.persons["author"] = [Person(a) for a in authors]
    return e


@pytest.mark.parametrize("authors,label", [
    (["Hill, Bruce M."], "Hill, 2020"),
    (["Lewkowycz, Aitor", "Gur-Ari, Guy"], "Lewkowycz and Gur-Ari, 2020"),
    (["Zhou, Yefan", "Pang, Tianyu", "Liu, Keqin"], "Zhou et al., 2020"),
    (["{Anonymous}"], "Anonymous, 2020"),
])
def test_author_year_labels(authors, label):
    assert sphinx_ext.author_year_label(_entry(authors)) == label


def test_the_references_style_labels_every_entry_by_author_and_year_and_tells_twins_apart():
    from pybtex.plugin import find_plugin

    sphinx_ext._register_author_year_style()
    style = find_plugin("pybtex.style.formatting", "thermo_author_year")()
    a, b = _entry(["Martin, C.", "Mahoney, M."], title="First"), _entry(["Martin, C.", "Mahoney, M."], title="Second")
    labels = [e.label for e in style.format_entries([a, b])]
    assert labels == ["Martin and Mahoney, 2020", "Martin and Mahoney, 2020b"]


def test_the_gallery_follows_the_book(tmp_path):
    nb = tmp_path / "ch.ipynb"
    nb.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["```{glue:figure} tb-fig3-main\n", "```\n"]},
        {"cell_type": "code", "source": ["# {glue:figure} tb-ignored-in-code\n"]},
        {"cell_type": "markdown", "source": ["```{glue:figure} tb-alg1-scales\n```\n"]},
    ]}))
    assert sphinx_ext.figure_order(nb) == ["tb-fig3-main", "tb-alg1-scales"]
    mans = [{"id": i, "chapter": c} for i, c in [("tb-fig10-x", "ch2"), ("tb-alg1-scales", "ch2"),
                                                  ("ac-fig1", "ch1"), ("tb-fig3-main", "ch2"), ("z", "other")]]
    order = sphinx_ext.in_book_order(mans, ["intro", "ch2", "ch1"], {"ch2": nb})
    assert [(c, [m["id"] for m in items]) for c, items in order] == [
        ("ch2", ["tb-fig3-main", "tb-alg1-scales", "tb-fig10-x"]), ("ch1", ["ac-fig1"]), ("other", ["z"])]


def test_gallery_entries_link_their_manifest(tmp_root, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from thermo import figures, results

    monkeypatch.setenv("THERMO_PROFILE", "quick")
    figures.set_chapter("notebooks/x/ch")
    rec = results.make_record("exp-x", 1, {"seed": 1}, {}, "ok", None, results.provenance("quick", 0.0, 1.0))
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [0, 1])
    figures.save(fig, "tb-one", rec, lead="One line. More")
    md = "\n".join(sphinx_ext.gallery_markdown("book/figures", "quick", "", {"notebooks/x/ch": "Chapter"},
                                               ["notebooks/x/ch"], {}))
    assert '<a href="../_static/figures/quick/tb-one.json">manifest</a>' in md
    assert 'alt="One line."' in md


def test_a_chapter_figure_links_its_full_size_file_with_its_caption_as_alt(tmp_root, monkeypatch):
    monkeypatch.setenv("THERMO_PROFILE", "quick")
    folder = tmp_root / "book" / "_static" / "figures" / "quick"
    folder.mkdir(parents=True)
    (folder / "tb-one.json").write_text(json.dumps({"id": "tb-one", "label": "tb-one", "profile": "quick",
                                                     "files": {"png": "tb-one.png"}}))
    doc = nodes.document(None, None)
    for ident, uri in (("tb-one", "jupyter_execute/a.png"), ("other", "jupyter_execute/b.png")):
        fig = nodes.figure(ids=[ident])
        fig += nodes.image(uri=uri)
        fig += nodes.caption(text="The caption. More words.")
        doc += fig
    doc += nodes.image(uri="loose.png")  # not in a figure: left alone
    builder = SimpleNamespace(current_docname="previous/page", imgpath="../../_images",
                              images={"jupyter_execute/b.png": "b.png"})
    sphinx_ext.link_figures(builder, doc)
    refs = [r for r in doc.findall(nodes.reference)]
    assert [r["refuri"] for r in refs] == ["../../_static/figures/quick/tb-one.png", "../../_images/b.png"]
    assert all(isinstance(r[0], nodes.image) and r[0]["alt"] == "The caption." for r in refs)
    loose = [i for i in doc.findall(nodes.image) if i["uri"] == "loose.png"][0]
    assert not isinstance(loose.parent, nodes.reference) and "alt" not in loose
