import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from thermo import figures, results  # noqa: E402
from thermo.errors import ConfigError  # noqa: E402


def record(profile="quick", **config):
    cfg = {"dataset": "fashion-mnist", "model": "convnet", "epochs": 3, "seed": 2, **config}
    return results.make_record("exp-x", 1, cfg, {}, "ok", None, results.provenance(profile, 0.0, 1.0))


def drawn():
    """A figure with one line (a published figure must draw something its CSV can hold)."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    return fig


def test_save_writes_png_pdf_csv_with_the_plotted_data(tmp_root):
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [4, 5, 6], label="line a")
    ax.scatter([0.5], [7.5], label="pts")
    ax.bar([10, 11], [1, 2], label="bars")
    pub = figures.save(fig, "tb-test-fig", record(), lead="A test figure", profile="quick")
    assert pub.png.stat().st_size > 0 and pub.pdf.read_bytes().startswith(b"%PDF")
    assert pub.png.parent == tmp_root / "book" / "_static" / "figures" / "quick"
    rows = list(csv.DictReader(pub.csv.open()))
    assert [(r["series"], r["kind"], float(r["x"]), float(r["y"])) for r in rows] == [
        ("line a", "line", 1, 4), ("line a", "line", 2, 5), ("line a", "line", 3, 6),
        ("pts", "scatter", 0.5, 7.5), ("bars", "bar", 10, 1), ("bars", "bar", 11, 2),
    ]


def test_caption_comes_from_the_run(tmp_root):
    fig = drawn()
    runs = [record(profile="smoke", seed=1), record(profile="smoke", seed=3)]
    cap = figures.save(fig, "tb-test-cap", runs, lead="What it shows.", profile="smoke").caption
    assert cap.startswith("What it shows. Experiment exp-x v1; profile smoke; dataset fashion-mnist;")
    assert "model convnet" in cap and "epochs 3" in cap and "seeds 1, 3" in cap
    assert runs[0]["config_hash"] in cap and "`tb-test-cap`" in cap


def test_caption_reports_runs_that_are_not_ok(tmp_root):
    bad = results.make_record("exp-x", 1, {"lr": 9}, {}, "diverged", "step 3", results.provenance("quick", 0, 1))
    assert "1 of 2 runs diverged" in figures.caption_facts([record(), bad])


@pytest.mark.parametrize("fid", ["Fig 1", "tb_fig", "", "-x"])
def test_bad_figure_ids(tmp_root, fid):
    with pytest.raises(ConfigError, match="figure id"):
        figures.save(plt.figure(), fid, record(), lead="x")


def test_a_figure_needs_its_run(tmp_root):
    with pytest.raises(ConfigError, match="needs the run record"):
        figures.save(plt.figure(), "tb-x", None, lead="x")


def test_manifest_says_what_the_figure_is(tmp_root, monkeypatch):
    monkeypatch.setenv("THERMO_PROFILE", "quick")
    figures.set_chapter("notebooks/tempbalance/01-esd-and-hill")
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    runs = [record(seed=1), record(seed=2)]
    pub = figures.save(fig, "tb-fig9-test", runs, lead="First sentence. Second one", title="A title")
    man = figures.manifests("quick")[0]
    assert pub.manifest == tmp_root / "book" / "_static" / "figures" / "quick" / "tb-fig9-test.json"
    assert man["id"] == "tb-fig9-test" and man["title"] == "A title" and man["label"] == "tb-fig9-test"
    assert man["chapter"] == "notebooks/tempbalance/01-esd-and-hill" and man["profile"] == "quick"
    assert man["caption"] == pub.caption and man["experiments"] == ["exp-x v1"]
    assert man["config_hashes"] == sorted(r["config_hash"] for r in runs)
    assert man["files"] == {"png": "tb-fig9-test.png", "pdf": "tb-fig9-test.pdf", "csv": "tb-fig9-test.csv"}
    assert man["reproduces"] == {"paper": "tempbalance", "title": "TempBalance", "bibkey": "zhou2023tempbalance",
                                 "place": "Fig. 9"}
    figures.save(drawn(), "tb-other", runs, lead="Only one sentence")
    assert figures.manifests("quick")[1]["title"] == "Only one sentence"


@pytest.mark.parametrize("fid,paper,place", [
    ("tb-fig9-s-vs-alpha", "tempbalance", "Fig. 9"), ("l2-figs9-autol2", "l2", "Fig. S9"),
    ("l2-fig1b-lambda-pred", "l2", "Fig. 1b"), ("ac-table1-fmnist", "actcoolr", "Table 1"),
    ("tc-fig7-ntk", "temperature-check", "Fig. 7"), ("tb-overhead", "tempbalance", None),
    ("tb-alg1-scales", "tempbalance", "Algorithm 1"),
    ("tc-a3-conditioning", "temperature-check", "App. A.3"),
    ("intro-figure", None, None),
])
def test_figure_ids_name_the_paper_and_place(fid, paper, place):
    rep = figures.reproduces(fid)
    assert (rep["paper"], rep["place"]) == (paper, place)


def test_a_shared_record_is_published_in_the_active_profile(tmp_root, monkeypatch):
    monkeypatch.setenv("THERMO_PROFILE", "paper")
    pub = figures.save(drawn(), "tb-shared", record(profile="quick"), lead="x")
    assert pub.png.parent.name == "paper"
    assert "profile paper (records computed in the quick profile with the same config)" in pub.caption
    assert not (tmp_root / "book" / "_static" / "figures" / "quick").exists()


def test_caption_names_the_library_version_without_a_commit(tmp_root):
    rec = record()
    rec["provenance"].update(git_commit="unknown", git_dirty=None, packages={"thermo": "0.1.0"})
    assert "code thermo 0.1.0." in figures.caption_facts(rec)
    rec["provenance"].update(git_commit="a" * 40, git_dirty=True)
    assert f"code aaaaaaaaaa+dirty (source {rec['provenance']['source'][:8]})." in figures.caption_facts(rec)


def _ticks_figure(width_in: float, fontsize: float, dpi: float = 110):
    fig, ax = plt.subplots(figsize=(width_in, 3), dpi=dpi)
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=fontsize)
    ax.set_xlabel("x", fontsize=fontsize + 2)
    return fig


@pytest.mark.parametrize("width,pt,dpi", [(6.0, 10, 110), (12.0, 10, 110), (9.0, 8, 110), (12.0, 14, 150)])
def test_legibility_is_the_smallest_text_as_the_page_column_shows_it(width, pt, dpi):
    fig = _ticks_figure(width, pt, dpi)
    size = figures.legibility(fig)
    natural = width * dpi  # independent: the browser scales the image down to the column, never up
    expected = pt * dpi / 72 * min(1.0, figures.COLUMN_PX / natural)
    assert size["min_font_pt"] == pt and size["dpi"] == dpi
    assert size["page_font_px"] == pytest.approx(expected, abs=0.01)
    plt.close(fig)


def test_an_illegible_figure_is_refused_with_what_to_do(tmp_root):
    wide = _ticks_figure(14.0, 9)  # 9 pt on a 14 in figure: 9 * 110/72 * 672/1540 = 6.0 px
    with pytest.raises(ConfigError, match=r"6\.0 px .* narrower than 9\.3 in"):
        figures.save(wide, "tb-wide", record(), lead="Too wide")
    assert not (tmp_root / "book" / "_static" / "figures" / "quick" / "tb-wide.png").exists()
    pub = figures.save(_ticks_figure(6.0, 9), "tb-narrow", record(), lead="Fits", profile="quick")
    size = figures.manifests("quick")[0]["size"]
    assert pub.manifest.is_file() and size["width_in"] == 6.0 and size["page_font_px"] == pytest.approx(13.75)


def test_glued_facts_are_printed_outside_the_site_build_only(monkeypatch, capsys):
    """Colab and Jupyter readers see every glued number in the cell output; the site shows them in
    its prose and prints nothing under the cell."""
    glued = {}
    monkeypatch.setattr(figures, "glue", lambda key, value, display=False: glued.__setitem__(key, value))
    monkeypatch.delenv("THERMO_SITE_BUILD", raising=False)
    figures.glue_facts({"tb-a": "1.5 [1.0, 2.0] pt", "tb-b": 3})
    assert capsys.readouterr().out == "tb-a: 1.5 [1.0, 2.0] pt\ntb-b: 3\n" and glued == {"tb-a": "1.5 [1.0, 2.0] pt",
                                                                                       "tb-b": "3"}
    monkeypatch.setenv("THERMO_SITE_BUILD", "1")
    figures.glue_facts({"tb-c": "x"})
    assert capsys.readouterr().out == "" and glued["tb-c"] == "x"
