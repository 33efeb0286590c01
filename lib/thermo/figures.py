"""One figure style and one way to publish a figure (DESIGN.md sections 2 and 8).

``save(fig, figure_id, run, lead=...)`` writes ``<id>.png``, ``<id>.pdf``, ``<id>.csv`` (every
line, scatter and bar drawn, as long-format rows) and ``<id>.json`` (the figure's manifest) into
``book/_static/figures/<profile>/``, which the site serves, and returns a :class:`Published` whose
``caption`` is the author's one-line lead followed by facts taken from the run records
(experiment, profile, dataset, model, epochs, seeds, config hash, code), never hand-typed.
``publish`` does the same and glues the figure and its caption for the book (``{glue:figure}``).

The profile of a figure is the *active* profile (``thermo.profile()``): a record computed under
another profile with the same config is reused, and the caption says so. The manifest (id, title,
chapter, label, caption, profile, experiments, config hashes, code, files, the paper and place it
reproduces) is what the generated gallery page (``thermo.sphinx_ext``) and its per-figure BibTeX
are built from. A chapter names itself once with :func:`set_chapter`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from thermo.citations import PAPERS
from thermo.errors import ConfigError
from thermo.paths import figures_dir
from thermo.profiles import check_profile
from thermo.profiles import profile as active_profile
from thermo.results import ID_PATTERN, atomic_write_text, code_summary, code_version
from thermo.text import readable

PREFIX_PAPER = {"tb": "tempbalance", "ac": "actcoolr", "tc": "temperature-check", "l2": "l2"}
_CHAPTER: dict = {"docname": None}
STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "figure.constrained_layout.use": True,
}


# Legibility (DESIGN.md section 10): a chapter shows a figure as the inline PNG of the notebook (at
# ``figure.dpi``), scaled down by the browser to the page column when it is wider. At the site's default
# width (a 1280 px window) the column of the book theme is COLUMN_PX wide, so a figure ``w`` inches wide
# shows its text at ``pt * dpi / 72 * min(1, COLUMN_PX / (w * dpi))`` px. ``save`` refuses a figure whose
# smallest text would show below MIN_FONT_PX; the browser test measures the same on the built pages.
COLUMN_PX = 672
MIN_FONT_PX = 9.0


def use_style() -> None:
    """Apply the book's matplotlib style (called by every chapter's import cell)."""
    plt.rcParams.update(STYLE)


@dataclass(frozen=True)
class Caption:
    """A figure's gallery title and the lead of its caption (may hold ``{fields}`` that a paper's
    ``plots.publish(..., **fields)`` fills from analysis)."""

    title: str
    lead: str


@dataclass(frozen=True)
class Published:
    figure_id: str
    png: Path
    pdf: Path
    csv: Path
    caption: str
    manifest: Path | None = None


def set_chapter(docname: str) -> None:
    """Name the chapter whose figures follow (its path without suffix, e.g.
    ``notebooks/tempbalance/01-esd-and-hill``); it goes into every figure's manifest."""
    _CHAPTER["docname"] = docname


def reproduces(figure_id: str) -> dict:
    """The paper and place a figure id refers to: ``tb-fig9-...`` -> TempBalance, Fig. 9;
    ``l2-figs9-...`` -> Fig. S9 (supplement); ``ac-table1-...`` -> Table 1; ``tb-alg1-...`` ->
    Algorithm 1; ``tc-a3-...`` -> App. A.3; else no place."""
    head, _, rest = figure_id.partition("-")
    paper = PREFIX_PAPER.get(head)
    token = rest.split("-")[0]
    place = None
    for pattern, fmt in ((r"figs(\d+[a-z]?)", "Fig. S{}"), (r"fig(\d+[a-z]?)", "Fig. {}"),
                         (r"table(\d+)", "Table {}"), (r"alg(\d+)", "Algorithm {}"),
                         (r"([a-d]\d+)", "App. {}")):
        found = re.fullmatch(pattern, token)
        if found:
            place = fmt.format(found[1] if not fmt.startswith("App.") else f"{found[1][0].upper()}.{found[1][1:]}")
            break
    if paper is None:
        return {"paper": None, "title": None, "bibkey": None, "place": place}
    title, bibkey = PAPERS[paper]
    return {"paper": paper, "title": title, "bibkey": bibkey, "place": place}


def _records(run) -> list[dict]:
    if run is None:
        raise ConfigError("a figure needs the run record(s) it was drawn from, for its caption")
    return list(run) if isinstance(run, (list, tuple)) else [run]


def _join(values) -> str:
    vals = sorted({str(v) for v in values if v is not None})
    return ", ".join(vals)


def caption_facts(run, profile: str | None = None) -> str:
    """The facts of a caption, from one record or a list of records (results-store format).
    ``profile`` is the profile the figure is made in (default: the records' own); records computed
    under another profile (same config, shared record) are named as such."""
    recs = _records(run)
    parts = []
    exps = _join(f"{r['experiment']} v{r['version']}" for r in recs)
    parts.append(f"Experiment {exps}")
    computed = _join(r["provenance"]["profile"] for r in recs)
    profile = profile or computed
    shared = sorted({r["provenance"]["profile"] for r in recs} - {profile})
    parts.append(f"profile {profile}" + (f" (records computed in the {', '.join(shared)} profile with the "
                                         "same config)" if shared else ""))
    cfgs = [r["config"] for r in recs]
    for key, label in (("dataset", "dataset"), ("model", "model"), ("epochs", "epochs"),
                       ("n_train", "training examples")):
        vals = _join(c.get(key) for c in cfgs)
        if vals:
            parts.append(f"{label} {vals}")
    seeds = sorted({s for c in cfgs for s in (c.get("seeds") or [c.get("seed")]) if s is not None})
    if seeds:
        parts.append(f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}")
    statuses = [r["status"] for r in recs]
    bad = {s: statuses.count(s) for s in sorted(set(statuses) - {"ok"})}
    if bad:
        parts.append(" and ".join(f"{n} of {len(recs)} runs {s}" for s, n in bad.items()))
    hashes = sorted({r["config_hash"] for r in recs})
    cfg_text = ", ".join(hashes) if len(hashes) <= 3 else f"{len(hashes)} configs, {hashes[0]}, ..."
    parts.append(f"config {cfg_text}; code {code_summary(recs)}")
    return "; ".join(parts) + "."


def _tick_names(ticks, labels, n: int) -> list:
    """The tick label of each index 0..n-1 of an image axis (the index itself where none)."""
    names = {int(round(t)): lab.get_text() for t, lab in zip(ticks, labels)
             if lab.get_text() and abs(t - round(t)) < 1e-9}
    return [names.get(i, i) for i in range(n)]


def legibility(fig) -> dict:
    """The figure's size and its smallest text: ``width_in``, ``height_in``, ``dpi`` (of the page image),
    ``min_font_pt`` (over every visible, non-empty text: ticks, labels, titles, legends, notes) and
    ``page_font_px``, that text's height in pixels as shown in the page column (``COLUMN_PX``)."""
    fig.draw_without_rendering()  # tick labels get their text (and layout its sizes) only when drawn
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    width, height = (float(v) for v in fig.get_size_inches())
    dpi = float(fig.dpi)
    min_pt = min((float(t.get_fontsize()) for t in texts), default=float(plt.rcParams["font.size"]))
    scale = min(1.0, COLUMN_PX / (width * dpi))
    return {"width_in": round(width, 3), "height_in": round(height, 3), "dpi": dpi, "min_font_pt": round(min_pt, 2),
            "page_font_px": round(min_pt * dpi / 72 * scale, 2)}


def check_legible(fig, figure_id: str) -> dict:
    """:func:`legibility`, or one ConfigError saying how to make the figure readable on the page."""
    size = legibility(fig)
    if size["page_font_px"] < MIN_FONT_PX:
        raise ConfigError(
            f"figure {figure_id!r}: its smallest text ({size['min_font_pt']} pt) would show at "
            f"{size['page_font_px']} px in the page column ({COLUMN_PX} px), below {MIN_FONT_PX:g} px: make it "
            f"narrower than {size['min_font_pt'] * COLUMN_PX / (72 * MIN_FONT_PX):.1f} in (now {size['width_in']} in; "
            "stack panels "
            "vertically or split the figure) or its text larger")
    return size


def plotted_rows(fig) -> list[dict]:
    """Every line, scatter, bar and image (heatmap cell, with its ``value``) in ``fig`` as rows
    (axes, series, kind, x, y, value). A figure with nothing to export is an error: a published
    CSV always holds the plotted data."""
    rows = []
    for ai, ax in enumerate(fig.axes):
        title = ax.get_title() or f"axes{ai}"
        for li, line in enumerate(ax.get_lines()):
            label = line.get_label()
            series = label if not label.startswith("_") else f"line{li}"
            for x, y in zip(line.get_xdata(), line.get_ydata()):
                rows.append({"axes": title, "series": series, "kind": "line", "x": x, "y": y})
        for ci, coll in enumerate(c for c in ax.collections if isinstance(c, PathCollection)):
            label = coll.get_label()
            series = label if not label.startswith("_") else f"scatter{ci}"
            for x, y in coll.get_offsets():
                rows.append({"axes": title, "series": series, "kind": "scatter", "x": x, "y": y})
        for ii, image in enumerate(ax.get_images()):  # a heatmap: one row per cell, labelled by the ticks
            label = image.get_label()
            series = label if label and not label.startswith("_") else f"image{ii}"
            grid = image.get_array()
            xt = _tick_names(ax.get_xticks(), ax.get_xticklabels(), grid.shape[1])
            yt = _tick_names(ax.get_yticks(), ax.get_yticklabels(), grid.shape[0])
            for r in range(grid.shape[0]):
                for c in range(grid.shape[1]):
                    rows.append({"axes": title, "series": series, "kind": "image", "x": xt[c], "y": yt[r],
                                 "value": float(grid[r, c])})
        for bi, cont in enumerate(ax.containers):
            label = cont.get_label() if hasattr(cont, "get_label") else None
            series = label if label and not label.startswith("_") else f"bars{bi}"
            for patch in cont:
                if isinstance(patch, Rectangle):
                    rows.append({"axes": title, "series": series, "kind": "bar",
                                 "x": patch.get_x() + patch.get_width() / 2, "y": patch.get_height()})
    return rows


def save(fig, figure_id: str, run, lead: str, profile: str | None = None, title: str | None = None,
         label: str | None = None) -> Published:
    """Write PNG + PDF + CSV + manifest of ``fig`` under a stable id; build its caption from ``run``.

    ``profile`` defaults to the active one; ``title`` (a few words for the gallery) to the lead's
    first sentence; ``label`` (the ``:name:`` of the figure in its chapter) to the id itself.
    """
    if not (isinstance(figure_id, str) and ID_PATTERN.fullmatch(figure_id)):
        raise ConfigError(f"figure id {figure_id!r} must be lower-case words joined by '-'")
    recs = _records(run)
    profile = check_profile(profile or active_profile())
    size = check_legible(fig, figure_id)
    rows = plotted_rows(fig)
    if not rows:
        raise ConfigError(f"figure {figure_id!r} draws no line, scatter, bar or image that its CSV could hold")
    out = figures_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    png, pdf, csv_path, manifest = (out / f"{figure_id}.{ext}" for ext in ("png", "pdf", "csv", "json"))
    fig.savefig(png)
    fig.savefig(pdf)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["figure", "axes", "series", "kind", "x", "y", "value"])
    writer.writeheader()
    for row in rows:
        writer.writerow({"figure": figure_id, **row})
    atomic_write_text(csv_path, buf.getvalue())
    caption = f"{lead.rstrip('.')}. {caption_facts(recs, profile)} Figure id `{figure_id}`."
    atomic_write_text(manifest, json.dumps({
        "id": figure_id,
        "title": title or lead.split(". ")[0].rstrip("."),
        "chapter": _CHAPTER["docname"],
        "label": label or figure_id,
        "lead": lead,
        "caption": caption,
        "profile": profile,
        "experiments": sorted({f"{r['experiment']} v{r['version']}" for r in recs}),
        "config_hashes": sorted({r["config_hash"] for r in recs}),
        "code": sorted({code_version(r["provenance"]) for r in recs}),
        "reproduces": reproduces(figure_id),
        "files": {ext: f"{figure_id}.{ext}" for ext in ("png", "pdf", "csv")},
        "size": size,
        "written": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }, indent=1, sort_keys=True) + "\n")
    return Published(figure_id, png, pdf, csv_path, caption, manifest)


def manifests(profile: str) -> list[dict]:
    """Every figure manifest written in ``profile``, sorted by id."""
    folder = figures_dir(check_profile(profile))
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def glue(key: str, value, display: bool = False) -> None:
    """``myst_nb.glue`` when the book is being built; outside the build (Colab, Jupyter without
    myst-nb) the value is shown if ``display`` is true and nothing else happens."""
    try:
        from myst_nb import glue as nb_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    nb_glue(key, value, display=display)


def building_site() -> bool:
    """True while ``make book`` / ``make book-smoke`` execute the chapters for the site
    (``THERMO_SITE_BUILD=1``): the page shows glued numbers in its prose."""
    return os.environ.get("THERMO_SITE_BUILD") == "1"


def glue_facts(facts: dict, title: str | None = None) -> None:
    """Glue every ``{key: text}`` for the page (``{glue:text}`` / ``{glue:md}``) and print them once,
    one line each, so a reader of the notebook outside the book (Colab, Jupyter), where glue shows
    nothing, sees the same numbers. The site build prints nothing (:func:`building_site`): there
    the numbers stand in the prose, and a list of keys under a cell would be noise. Texts should
    come formatted from the paper's ``analysis``; the reader sees them through
    :func:`thermo.text.readable` (``beta = 0.1`` as ``β = 0.1``, ``1.6e-08`` as ``1.6 × 10⁻⁸``)."""
    lines = [title] if title else []
    for key, text in facts.items():
        text = readable(str(text))
        glue(key, text)
        lines.append(f"  {key}: {text}" if title else f"{key}: {text}")
    if not building_site():
        print("\n".join(lines))


def publish(fig, figure_id: str, run, lead: str, profile: str | None = None, title: str | None = None,
            label: str | None = None) -> Published:
    """:func:`save`, then glue the figure (key ``figure_id``) and its caption (key
    ``<figure_id>-caption``) for a ``{glue:figure}`` directive, so the page shows it once with
    the generated caption. Without myst-nb (e.g. on Colab) the figure and caption are shown."""
    from IPython.display import Markdown

    pub = save(fig, figure_id, run, lead, profile, title=title, label=label)
    try:
        import myst_nb  # noqa: F401

        glue(figure_id, fig)
        glue(f"{figure_id}-caption", Markdown(pub.caption))
    except ImportError:
        from IPython.display import display

        display(fig, Markdown(pub.caption))
    plt.close(fig)
    return pub
