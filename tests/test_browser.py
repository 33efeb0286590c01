"""The built site in a real browser: Debian's Chromium, driven by Playwright (no browser download).

``make test`` builds the site in the smoke profile and points ``THERMO_SITE`` at it; the site is
served on localhost and every page of the table of contents is opened. Checked: no console errors
and no failed requests, every image loaded (natural width > 0), every math block typeset by the
offline MathJax, every internal link and citation points at a page and anchor that exist, the
gallery's thumbnails and downloads resolve, every notebook's launch button opens that notebook's
``.ipynb`` in the repository. Pages a reader can read: every chapter figure is legible where it stands
(its smallest text, from the figure's manifest, at least ``MIN_FONT_PX`` as displayed), links to its
full-size file and has its caption's first sentence as alt text; no Python repr on any page; no
equation clipped. A full-page screenshot of every page goes to ``_build/screenshots/`` (build
artifacts).
"""

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import yaml

from thermo.figures import MIN_FONT_PX
from thermo.sphinx_ext import first_sentence, plain_math

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ["THERMO_SITE"]).resolve() if os.environ.get("THERMO_SITE") else None
PROFILE = os.environ.get("THERMO_PROFILE", "quick")  # the profile the site was built in
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "_build" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.skipif(SITE is None, reason="no built site: set THERMO_SITE (make test does)"),
              pytest.mark.timeout(600)]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        pages += [ch["file"] for ch in part["chapters"]]
    return pages


def shot_name(doc: str) -> str:
    """The screenshot's file name: the gallery and the report keep their short names."""
    return {"book/figures": "gallery", "book/report": "report"}.get(doc, doc.replace("/", "--"))


def site_manifests() -> dict:
    """Every figure manifest of the site's profile, by the label its chapter gives the figure."""
    out = {}
    for path in sorted((SITE / "_static" / "figures" / PROFILE).glob("*.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        out[manifest["label"]] = manifest
    return out


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: `apt-get install chromium` (make test does it when root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def visited(server, browser):
    """Open every page once; record console errors, failed requests and what the checks need."""
    pages = {}
    for doc in toc_pages():
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.on("requestfailed", lambda req, errors=errors: errors.append(f"request failed: {req.url}")
                if urlparse(req.url).hostname == "127.0.0.1" else None)
        url = urljoin(server, f"{doc}.html")
        response = page.goto(url, wait_until="networkidle")
        page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise"
                               ".then(() => true)", timeout=30_000)
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
        info = page.evaluate("""() => ({
            images: [...document.querySelectorAll('main img')].map(i => [i.currentSrc || i.src, i.naturalWidth]),
            math: document.querySelectorAll('main .math').length,
            typeset: document.querySelectorAll('main .math mjx-container, main mjx-container.MathJax').length,
            unrendered: [...document.querySelectorAll('main .math')].filter(m => !m.querySelector('mjx-container'))
                        .map(m => m.textContent.slice(0, 60)),
            internal: [...document.querySelectorAll('main a.reference.internal, main a[href^="#"]')]
                      .map(a => a.href),
            downloads: [...document.querySelectorAll('main a[download]')].map(a => a.href),
            launch: [...document.querySelectorAll('a')].map(a => a.href).filter(h => h.includes('colab')),
            figures: [...document.querySelectorAll('main figure')].filter(f => f.querySelector('img')).map(f => {
                const img = f.querySelector('img'), link = img.closest('a');
                return {id: f.id, natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
                        alt: img.getAttribute('alt') || '', href: link ? link.href : null,
                        caption: (f.querySelector('figcaption') || {}).innerText || ''};
            }),
            prose: (() => {
                const main = document.querySelector('main').cloneNode(true);
                main.querySelectorAll('.cell_input, .highlight, pre.literal-block, .thermo-bibtex')
                    .forEach(e => { if (!e.closest('.cell_output')) e.remove(); });
                main.querySelectorAll('div.highlight-bibtex').forEach(e => e.remove());
                return main.innerText;
            })(),
            clipped: [...document.querySelectorAll('main div.math, main mjx-container[display="true"]')]
                .filter(m => m.scrollWidth > m.clientWidth + 1 &&
                        !['auto', 'scroll'].includes(getComputedStyle(m).overflowX))
                .map(m => m.textContent.slice(0, 60)),
        })""")
        info["status"], info["errors"], info["url"] = response.status, errors, url
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{shot_name(doc)}.png"), full_page=True)
        pages[doc] = info
        page.close()
    return pages


def test_every_page_loads_without_console_errors(visited):
    for doc, info in visited.items():
        assert info["status"] == 200, doc
        assert not info["errors"], f"{doc}: {info['errors']}"


def test_every_image_loads(visited):
    for doc, info in visited.items():
        for src, width in info["images"]:
            assert width > 0, f"{doc}: image {src} did not load"
    assert any(info["images"] for doc, info in visited.items() if doc.startswith("notebooks/"))


def test_every_math_block_is_typeset(visited):
    for doc, info in visited.items():
        assert not info["unrendered"], f"{doc}: math not rendered by MathJax: {info['unrendered'][:3]}"
    assert sum(info["math"] for info in visited.values()) > 10


def _anchor_exists(path: Path, anchor: str) -> bool:
    text = path.read_text(encoding="utf-8")
    return f'id="{anchor}"' in text


def test_internal_links_and_citations_resolve(visited, server):
    checked = 0
    for doc, info in visited.items():
        for href in info["internal"]:
            parsed = urlparse(href)
            if not href.startswith(server):
                continue
            target = SITE / parsed.path.lstrip("/")
            assert target.is_file(), f"{doc}: link to a missing page {href}"
            if parsed.fragment:
                assert _anchor_exists(target, parsed.fragment), f"{doc}: link to a missing anchor {href}"
            checked += 1
    assert checked > 20
    cites = [h for info in visited.values() for h in info["internal"] if "references.html#" in h]
    assert cites, "no citation links found"


def test_gallery_thumbnails_and_downloads_resolve(visited, server, browser):
    gallery = visited["book/figures"]
    assert gallery["images"] and all(w > 0 for _, w in gallery["images"])
    assert len(gallery["downloads"]) >= 3 * len(gallery["images"])
    ctx = browser.new_context()
    for href in gallery["downloads"]:
        r = ctx.request.get(href)
        assert r.status == 200 and len(r.body()) > 0, href
    ctx.close()


def test_launch_buttons_open_the_chapter_notebook(visited):
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    slug = urlparse(repo).path.strip("/")
    for doc, info in visited.items():
        if not doc.startswith("notebooks/"):
            continue
        expected = f"https://colab.research.google.com/github/{slug}/blob/main/{doc}.ipynb"
        assert expected in info["launch"], f"{doc}: launch buttons {info['launch']}"


def test_screenshots_are_saved(visited):
    for doc in visited:
        shot = SHOTS / f"{shot_name(doc)}.png"
        assert shot.is_file() and shot.stat().st_size > 10_000, shot


def chapter_figures(visited):
    return [(doc, f) for doc, info in visited.items() if doc.startswith("notebooks/") for f in info["figures"]]


def test_every_chapter_figure_is_legible_where_it_stands(visited):
    """The smallest text of each figure (its manifest: points and the page image's dpi) times the scale
    the browser shows the image at (displayed / natural width) must reach MIN_FONT_PX."""
    manifests = site_manifests()
    measured = []
    for doc, fig in chapter_figures(visited):
        manifest = manifests.get(fig["id"])
        assert manifest is not None, f"{doc}: figure {fig['id']!r} has no manifest on the site"
        size = manifest["size"]
        assert fig["natural"] > 0, f"{doc}: figure {fig['id']} did not load"
        shown_px = size["min_font_pt"] * size["dpi"] / 72 * fig["shown"] / fig["natural"]
        measured.append((round(shown_px, 1), fig["id"]))
        assert shown_px >= MIN_FONT_PX, (
            f"{doc}: figure {fig['id']} shows its smallest text ({size['min_font_pt']} pt) at {shown_px:.1f} px "
            f"(shown at {fig['shown']:.0f} of {fig['natural']} px): below {MIN_FONT_PX} px")
    assert len(measured) >= 20, measured


def test_every_chapter_figure_links_its_full_size_file_and_has_alt_text(visited, browser):
    """Each figure is a link to its full-size PNG, and its alt text is its caption's first sentence
    (math read out as words), never a file name."""
    manifests = site_manifests()
    ctx = browser.new_context()
    for doc, fig in chapter_figures(visited):
        assert fig["href"], f"{doc}: figure {fig['id']} is not a link to its full-size file"
        r = ctx.request.get(fig["href"])
        assert r.status == 200 and r.headers.get("content-type", "").startswith("image/"), (doc, fig["href"])
        assert fig["href"].endswith(f"/_static/figures/{manifests[fig['id']]['profile']}/{fig['id']}.png"), fig["href"]
        expected = plain_math(first_sentence(manifests[fig["id"]]["caption"]))
        # the same words: Sphinx typesets quotes and Markdown eats some TeX spacing (\\,) in the page's caption
        assert re.sub(r"\W+", "", fig["alt"]) == re.sub(r"\W+", "", expected), (doc, fig["id"], fig["alt"], expected)
        assert not any(s in fig["alt"] for s in ("_images", "jupyter_execute", ".png")), (doc, fig["alt"])
    ctx.close()


def test_caption_math_is_typeset(visited):
    """Captions are glued Markdown: their $...$ must reach MathJax, not show as TeX source."""
    raw = [(doc, fig["id"]) for doc, fig in chapter_figures(visited) if "$" in fig["caption"]]
    assert not raw, f"captions showing TeX source: {raw}"


REPRS = ("{'", "[{", "dtype:", "array(", "<thermo.")


def test_no_python_repr_on_any_page(visited):
    for doc, info in visited.items():
        found = [(marker, info["prose"][max(0, i - 40):i + 40].replace("\n", " "))
                 for marker in REPRS for i in [info["prose"].find(marker)] if i >= 0]
        assert not found, f"{doc}: a Python repr on the page: {found}"


def test_no_equation_is_clipped(visited):
    for doc, info in visited.items():
        assert not info["clipped"], f"{doc}: equations wider than the column and not scrollable: {info['clipped']}"
