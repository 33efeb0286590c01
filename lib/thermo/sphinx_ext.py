"""Sphinx extension of the book: pages generated from the figure manifests and the claims.

Listed in ``_config.yml`` (``sphinx.extra_extensions``). Two directives, used by ``book/figures.md``
and ``book/report.md``:

- ``{thermo-gallery}`` one entry per figure manifest of the build's profile (``THERMO_PROFILE``):
  thumbnail, generated caption, a link to the figure in its chapter, PNG / PDF / CSV downloads and
  a BibTeX entry for that figure. Nothing is typed by hand: a figure appears when its chapter
  publishes it.
- ``{thermo-claims}`` the reproduction report: every claim of :mod:`thermo.claims` with its status
  in the build's profile, computed from the cached results, and the rule that gave it.

Pages that use these directives are read *after* every other page (so the chapters have written
their manifests and results in this build) and are re-read on every build (their content
depends on files, not on their source).
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from thermo import figures, report
from thermo.citations import PAPERS
from thermo.paths import figures_dir
from thermo.profiles import profile as active_profile
from thermo.text import readable

DIRECTIVE = re.compile(r"^[`:]{3,}\{thermo-(gallery|claims)\}", re.MULTILINE)
BOOK_TITLE = "thermo-book: temperature in neural-network training, reproduced"
AUTHORS = "{The thermo-book authors}"


def _escape_md(text: str) -> str:
    """Report text as Markdown: its ASCII symbols read as symbols (:func:`thermo.text.readable`), then
    Markdown's special characters escaped."""
    text = readable(text)
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;")


def _static(docname: str, profile: str, name: str) -> str:
    return "../" * docname.count("/") + f"_static/figures/{profile}/{name}"


def bibtex(manifest: dict, site_url: str) -> str:
    """A BibTeX entry for one figure: id, profile, code, and the paper it reproduces."""
    rep = manifest["reproduces"]
    fid, profile = manifest["id"], manifest["profile"]
    what = f"{rep['place']} of {rep['title']}" if rep.get("place") and rep.get("title") else rep.get("title")
    note = f"Figure {fid}, profile {profile}, code {', '.join(manifest['code'])}"
    if what:
        note += f"; reproduces {what} (cite also {rep['bibkey']})"
    url = f"{site_url.rstrip('/')}/_static/figures/{profile}/{fid}.png" if site_url else ""
    lines = [
        f"@misc{{thermobook-{fid}-{profile},",
        f"  title        = {{{{{manifest['title']}}}}},",
        f"  author       = {{{AUTHORS}}},",
        f"  year         = {{{manifest['written'][:4]}}},",
        f"  howpublished = {{{BOOK_TITLE}" + (f", \\url{{{url}}}}}," if url else "},"),
        f"  note         = {{{note}}}",
        "}",
    ]
    return "\n".join(lines)


GLUED_FIGURE = re.compile(r"\{glue:figure\}\s+([a-z0-9][a-z0-9-]*)")


def figure_order(chapter_source: Path | None) -> list[str]:
    """The figure ids a chapter shows, in the order its ``{glue:figure}`` directives appear."""
    if chapter_source is None or not chapter_source.is_file():
        return []
    text = chapter_source.read_text(encoding="utf-8")
    if chapter_source.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        text = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")
    return list(dict.fromkeys(GLUED_FIGURE.findall(text)))


def in_book_order(mans: list[dict], chapters: list[str], sources: dict) -> list[tuple[str, list[dict]]]:
    """Manifests grouped by chapter, chapters in table-of-contents order (unknown ones last), and
    within a chapter in the order the page shows its figures (figures it does not show last, by id)."""
    by_chapter: dict = {}
    for m in mans:
        by_chapter.setdefault(m.get("chapter") or "", []).append(m)
    rank = {c: i for i, c in enumerate(chapters)}
    out = []
    for chapter in sorted(by_chapter, key=lambda c: (rank.get(c, len(rank)), c)):
        shown = {fid: i for i, fid in enumerate(figure_order(sources.get(chapter)))}
        items = sorted(by_chapter[chapter], key=lambda m: (shown.get(m["id"], len(shown)), m["id"]))
        out.append((chapter, items))
    return out


def gallery_markdown(docname: str, profile: str, site_url: str, titles: dict, chapters: list[str] | None = None,
                     sources: dict | None = None) -> list[str]:
    """The gallery's Markdown: ``titles`` maps the build's docnames to their titles; ``chapters`` is the
    book order of the docnames and ``sources`` their source files (for the order of figures)."""
    # only figures of chapters in this build: a chapter outside the table of contents (work in
    # progress) has no page to link to
    mans = [m for m in figures.manifests(profile) if not m.get("chapter") or m["chapter"] in titles]
    if not mans:
        return [f"No figure has been published in the `{profile}` profile yet."]
    out = [f"{len(mans)} figures, profile `{profile}`, in the order of the book. Click a thumbnail for the "
           "full-size PNG; each entry links its manifest (the JSON the gallery is built from).", ""]
    for chapter, items in in_book_order(mans, chapters or [], sources or {}):
        heading = titles.get(chapter, chapter or "Other figures")
        out += [f"## {_escape_md(heading)}", ""]
        for m in items:
            fid = m["id"]
            png = _static(docname, profile, m["files"]["png"])
            links = " · ".join(f'<a href="{_static(docname, profile, m["files"][ext])}" download>{ext.upper()}</a>'
                               for ext in ("png", "pdf", "csv"))
            links += f' · <a href="{_static(docname, profile, fid + ".json")}">manifest</a>'
            out += [
                f"### `{fid}`: {_escape_md(m['title'])}", "",
                f'<a href="{png}"><img class="thermo-thumb" src="{png}" alt="{_alt(m)}" width="320"></a>', "",
                f"{{numref}}`Figure %s in its chapter <{m['label']}>` · downloads: {links}", "",
                _escape_md(m["caption"]), "",
                ":::{dropdown} BibTeX entry for this figure", "```bibtex", bibtex(m, site_url), "```", ":::", "",
            ]
    return out


BADGES = {"reproduced": "success", "partly": "warning", "contradicted": "danger", "inconclusive": "secondary",
          "absent at this scale": "info", "not yet tested": "light"}


def claims_markdown(profile: str, labels: set | None = None) -> list[str]:
    """The report's Markdown; a claim links to its section only if that label exists (``labels``:
    the build's known labels; None links all)."""
    rows = report.assess_all(profile)
    tally = report.counts(rows)
    summary = ", ".join(f"{n} {s}" for s, n in tally.items() if n)
    out = [f"{len(rows)} claims, profile `{profile}`: {summary}.", "",
           ":::{list-table}", ":header-rows: 1", ":widths: 20 30 16 22 12", ":class: thermo-claims-table", "",
           "* - Claim", "  - Statement", "  - Paper", "  - Ours", "  - Status"]
    for a in rows:
        c = a.claim
        title, key = PAPERS[c.paper]
        linked = c.section and (labels is None or c.section in labels)
        cid = f"`{c.id}`<br>{title}" + (f" {{cite:p}}`{key}`" if key else "") + f", {c.place}"
        if linked:
            cid += f" ({{ref}}`section <{c.section}>`)"
        ours = f"**{_escape_md(a.ours)}**" if a.measurement else "-"
        if a.note:
            ours += f"<br><small>{_escape_md(a.note)}</small>"
        out += [f"* - {cid}", f"  - {_escape_md(c.statement)}", f"  - {_escape_md(c.paper_value)}",
                f"  - {ours}", f"  - {{bdg-{BADGES[a.status]}}}`{a.status}`"]
    out += [":::", "", "## The rules", "",
            "Each status above comes from the rule written next to its claim in the library:", ""]
    out += [f"- `{a.claim.id}`: {_escape_md(a.claim.rule.text)}." for a in rows]
    return out


class _Generated(SphinxDirective):
    has_content = False

    def lines(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self):
        node = nodes.container(classes=[f"thermo-{self.name.split('-')[-1]}"])
        self.state.nested_parse(StringList(self.lines(), source=self.env.docname), self.content_offset, node)
        return [node]


def _alt(manifest: dict) -> str:
    text = manifest.get("lead") or manifest.get("title") or manifest["id"]
    return plain_math(first_sentence(text)).replace('"', "&quot;")


def book_order(env) -> list[str]:
    """Every docname reachable from the root document, depth first: the order of the book."""
    out: list[str] = []

    def walk(doc):
        if doc in out:
            return
        out.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return out


class GalleryDirective(_Generated):
    def lines(self):
        titles = {d: t.astext() for d, t in self.env.titles.items()}
        chapters = book_order(self.env)
        sources = {d: Path(self.env.doc2path(d)) for d in chapters}
        return gallery_markdown(self.env.docname, active_profile(), self.config.html_baseurl or "", titles,
                                chapters, sources)


class ClaimsDirective(_Generated):
    def lines(self):
        return claims_markdown(active_profile(), set(self.env.domaindata["std"]["labels"]))


SENTENCE = re.compile(r"^(.+?[.!?])(?=\s+[A-Z(`$]|\s*$)", re.DOTALL)


def first_sentence(text: str) -> str:
    """The first sentence of a caption (its alt text): up to the first '.', '!' or '?' followed by a
    capital, a bracket or the end (so "Fig. 3" or "0.5" do not end it)."""
    text = " ".join(text.split())
    found = SENTENCE.match(text)
    return (found[1] if found else text).strip()


TEX_COMMAND = re.compile(r"\\([A-Za-z]+)\s*")


def plain_math(text: str) -> str:
    """A caption's inline TeX (and Markdown code/bold marks) read out as words for alt text:
    ``$\\hat\\alpha \\times M$`` -> ``hat alpha times M``."""
    text = re.sub(r"\\[,;:! ]", " ", text.replace("$", "").replace("`", "").replace("**", ""))
    text = TEX_COMMAND.sub(lambda m: m[1] + " ", text)
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r"\s+([,;.:)])", r"\1", " ".join(text.split())).replace("( ", "(")


def _figure_png(builder, label_ids) -> str | None:
    """The full-size PNG of a published figure (``_static/figures/<profile>/<id>.png``) whose label is
    among ``label_ids``, relative to the page being written; None if it is not a published figure."""
    folder = figures_dir(active_profile())
    for label in label_ids:
        path = folder / f"{label}.json"
        if path.is_file():
            manifest = json.loads(path.read_text(encoding="utf-8"))
            # the page's relative way up to the site root: imgpath is "<up>/_images" (set for the page being
            # processed; current_docname is not yet)
            return posixpath.join(posixpath.dirname(builder.imgpath), "_static", "figures", manifest["profile"],
                                  manifest["files"]["png"])
    return None


def link_figures(builder, doctree) -> None:
    """Every image of a figure on a page gets its caption's first sentence as alt text and becomes a
    link to its full-size file: the published PNG of a chapter figure, else the image itself."""
    for image in list(doctree.findall(nodes.image)):
        figure = next((a for a in _ancestors(image) if isinstance(a, nodes.figure)), None)
        if figure is None:
            continue
        caption = figure.next_node(nodes.caption)
        if caption is not None and caption.astext().strip():
            image["alt"] = plain_math(first_sentence(caption.astext()))
        if isinstance(image.parent, nodes.reference):
            continue
        target = _figure_png(builder, figure["ids"] + figure.get("names", []))
        if target is None and image["uri"] in builder.images:
            target = posixpath.join(builder.imgpath, builder.images[image["uri"]])
        if target:
            ref = nodes.reference("", "", internal=True, refuri=target, classes=["thermo-figure-link"])
            image.replace_self(ref)
            ref.append(image)


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def _patch_image_processing(app):
    """Run :func:`link_figures` right after the HTML builder has placed a page's images (it knows their
    final paths only then)."""
    builder = app.builder
    if not hasattr(builder, "post_process_images") or not hasattr(builder, "imgpath"):
        return
    original = builder.post_process_images

    def post_process_images(doctree):
        original(doctree)
        link_figures(builder, doctree)

    builder.post_process_images = post_process_images


def author_year_label(entry) -> str:
    """``Hill, 1975``, ``Martin and Mahoney, 2021``, ``Zhou et al., 2023``: the label of a reference in
    the bibliography, the same words the text's author-year citations use."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
    if not names:
        who = entry.fields.get("title", entry.key).replace("{", "").replace("}", "").split(":")[0]
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = entry.fields.get("year")
    return f"{who}, {year}" if year else who


def _register_author_year_style() -> None:
    """pybtex styles ``thermo_author_year`` (labels) and ``thermo_author_year`` (formatting: plain entries,
    sorted by author and year, labelled by :func:`author_year_label`), so the References page uses the
    author-year words of the citations in the text instead of alpha codes."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as Plain
    from pybtex.style.labels import BaseLabelStyle

    class Labels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            seen: dict = {}
            for entry in sorted_entries:
                label = author_year_label(entry)
                seen[label] = seen.get(label, 0) + 1
                yield label if seen[label] == 1 else f"{label}{chr(ord('a') + seen[label] - 1)}"

    class AuthorYear(Plain):
        default_label_style = Labels
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.labels", "thermo_author_year", Labels, force=True)
    register_plugin("pybtex.style.formatting", "thermo_author_year", AuthorYear, force=True)


def _generated_docs(app, docnames) -> list[str]:
    out = []
    for doc in docnames:
        path = Path(app.env.doc2path(doc))
        if path.suffix == ".md" and path.exists() and DIRECTIVE.search(path.read_text(encoding="utf-8")):
            out.append(doc)
    return out


def _always_outdated(app, env, added, changed, removed):
    return _generated_docs(app, env.found_docs)


def _read_last(app, env, docnames):
    last = _generated_docs(app, docnames)
    docnames[:] = [d for d in docnames if d not in last] + last


def _theme_defaults(app, config):
    """pydata-sphinx-theme logs a console error ("invalid theme mode") when the page has no
    default mode; it takes it from ``html_context["default_mode"]``."""
    config.html_context.setdefault("default_mode", "auto")


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    """Keep one copy of every identical script on a page. sphinx-thebe adds its configuration
    script after the HTML builder started, and Sphinx 7.4 then holds it twice (once with file name
    None, once with ''): the second ``const THEBE_JS_URL`` is a console error on every page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        attrs = tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items()))
        key = (str(getattr(js, "filename", js) or ""), attrs)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def setup(app):
    _register_author_year_style()
    app.connect("config-inited", _theme_defaults)
    app.connect("builder-inited", _patch_image_processing)
    app.connect("html-page-context", _dedupe_scripts, priority=1)  # before handlers that return a template
    app.add_directive("thermo-gallery", GalleryDirective)
    app.add_directive("thermo-claims", ClaimsDirective)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-before-read-docs", _read_last)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
