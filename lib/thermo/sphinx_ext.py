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

import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from thermo import figures, report
from thermo.citations import PAPERS
from thermo.profiles import profile as active_profile

DIRECTIVE = re.compile(r"^[`:]{3,}\{thermo-(gallery|claims)\}", re.MULTILINE)
BOOK_TITLE = "thermo-book: temperature in neural-network training, reproduced"
AUTHORS = "{The thermo-book authors}"


def _escape_md(text: str) -> str:
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


def gallery_markdown(docname: str, profile: str, site_url: str, titles: dict) -> list[str]:
    # only figures of chapters in this build: a chapter outside the table of contents (work in
    # progress) has no page to link to
    mans = [m for m in figures.manifests(profile) if not m.get("chapter") or m["chapter"] in titles]
    if not mans:
        return [f"No figure has been published in the `{profile}` profile yet."]
    out = [f"{len(mans)} figures, profile `{profile}`. Click a thumbnail for the full-size PNG.", ""]
    by_chapter: dict = {}
    for m in mans:
        by_chapter.setdefault(m.get("chapter") or "", []).append(m)
    for chapter, items in sorted(by_chapter.items()):
        heading = titles.get(chapter, chapter or "Other figures")
        out += [f"## {_escape_md(heading)}", ""]
        for m in items:
            fid = m["id"]
            png = _static(docname, profile, m["files"]["png"])
            links = " · ".join(f'<a href="{_static(docname, profile, m["files"][ext])}" download>{ext.upper()}</a>'
                               for ext in ("png", "pdf", "csv"))
            out += [
                f"### `{fid}`: {_escape_md(m['title'])}", "",
                f'<a href="{png}"><img class="thermo-thumb" src="{png}" alt="{fid}" width="320"></a>', "",
                f"{{numref}}`Figure %s in its chapter <{m['label']}>` · downloads: {links}", "",
                _escape_md(m["caption"]), "",
                "```bibtex", bibtex(m, site_url), "```", "",
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
        cid = f"`{c.id}`<br>{title} {{cite:p}}`{key}`, {c.place}"
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


class GalleryDirective(_Generated):
    def lines(self):
        titles = {d: t.astext() for d, t in self.env.titles.items()}
        return gallery_markdown(self.env.docname, active_profile(), self.config.html_baseurl or "", titles)


class ClaimsDirective(_Generated):
    def lines(self):
        return claims_markdown(active_profile(), set(self.env.domaindata["std"]["labels"]))


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
    app.connect("config-inited", _theme_defaults)
    app.connect("html-page-context", _dedupe_scripts, priority=1)  # before handlers that return a template
    app.add_directive("thermo-gallery", GalleryDirective)
    app.add_directive("thermo-claims", ClaimsDirective)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-before-read-docs", _read_last)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
