"""The browser checks themselves: they pass on a book that uses every feature, and they fail.

- The showcase book (tests/browser/showcase/: formulas, figures, widgets, an exercise with a
  gated solution, citations) is built with the course's own configuration and must pass every
  check of sitecheck.py: this proves that the configuration renders those features offline
  before any chapter uses them.
- Pages broken on purpose must make every check report: a check that cannot fail proves nothing.
  Their notebook outputs have the markup myst-nb 1.4 gives them (stderr, a traceback in
  a cell tagged ``raises-exception`` or not) and as the widgets' output area draws them.
- Without Chromium the tests skip, or fail when DLCOURSE_REQUIRE_BROWSER=1; without a built book
  they fail and say to run `make book`.
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sitecheck

SHOWCASE = Path(__file__).parent / "showcase"
ROOT = sitecheck.ROOT
# a 2 x 2 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb"
    "6QAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="session")
def showcase_site(tmp_path_factory) -> Path:
    """The showcase book, built like `make book-strict` (executed afresh, warnings are errors)."""
    vendored = ROOT / "_extra" / "vendor"
    if not vendored.is_dir():
        pytest.fail("the site's JavaScript is not vendored: run `make vendor`", pytrace=False)
    book = tmp_path_factory.mktemp("showcase")
    shutil.copytree(SHOWCASE, book, dirs_exist_ok=True)
    for name in ("references.bib", "_static", "_extra"):
        source = ROOT / name
        if source.is_dir():
            (book / name).symlink_to(source, target_is_directory=True)
        elif source.exists():
            shutil.copy(source, book / name)
    bin_dir = Path(sys.executable).parent
    subprocess.run([sys.executable, str(ROOT / "tools" / "book_config.py"), "--execute", "force",
                    "--source", str(ROOT / "_config.yml"), "--output", str(book / "_config.yml"),
                    "--jupyterhub-url", "https://hub.example.edu"],
                   check=True)
    build = subprocess.run(
        [str(bin_dir / "jupyter-book"), "build", str(book), "-W", "-n", "--keep-going"],
        cwd=book, capture_output=True, text=True,
        # the kernel must use matplotlib's inline backend, or figures are not output at all
        env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"},
    )
    assert build.returncode == 0, f"the showcase book did not build:\n{build.stdout[-6000:]}"
    return book / "_build" / "html"


@pytest.fixture(scope="session")
def showcase(browser, showcase_site, screenshots):
    """The showcase chapter visited once: (result, server, site)."""
    with sitecheck.SiteServer(showcase_site) as server:
        result = sitecheck.visit(browser, server, showcase_site, "showcase.html",
                                 screenshots=screenshots / "_showcase")
        yield result, server, showcase_site


@pytest.mark.browser
def test_showcase_passes_every_check(showcase):
    result, _, _ = showcase
    assert not result.problems(), result.report()


@pytest.mark.browser
def test_showcase_pages_all_pass(showcase, browser):
    _, server, site = showcase
    for rel in sitecheck.site_pages(site):
        if rel != "showcase.html":
            result = sitecheck.visit(browser, server, site, rel, dark=False)
            assert not result.problems(), result.report()


def _open(browser, server, rel):
    context = browser.new_context(viewport=sitecheck.VIEWPORT)
    page = context.new_page()
    page.goto(server.url + rel, wait_until="load")
    page.evaluate(sitecheck._MATHJAX_DONE_JS)
    return context, page


@pytest.mark.browser
def test_showcase_features_render(showcase, browser):
    _, server, _ = showcase
    context, page = _open(browser, server, "showcase.html")
    try:
        page.wait_for_function(f"({sitecheck._WIDGETS_RENDERED_JS})().length === 0")
        article = page.locator("article.bd-article")
        assert article.locator("mjx-container").count() >= 5
        # the widgets: a slider whose label is typeset by MathJax 3, and an interact
        assert article.locator(".widget-subarea .jupyter-widgets").count() >= 2
        assert article.locator(".widget-slider").count() >= 2
        page.wait_for_function("document.querySelector('.widget-label mjx-container') !== null")
        # figures: captioned, with alt text, numbered
        captions = article.locator("figure figcaption").all_inner_texts()
        assert any("rectified linear unit" in c for c in captions), captions
        assert any("random walk" in c for c in captions), captions
        # a matplotlib animation: caption and alt text from its cell, buttons drawn by the
        # theme's FontAwesome (the CDN stylesheet matplotlib links to is gone)
        assert any("travelling sine wave" in c for c in captions), captions
        frame = article.locator("img[id^='_anim_img']")
        assert frame.get_attribute("alt").startswith("A sine wave")
        assert frame.evaluate("img => img.naturalWidth") > 0
        assert article.locator(".anim-buttons button svg").count() >= 5
        # the setup cell is collapsed
        assert not page.locator(".tag_hide-input .cell_input").first.is_visible()
        # the exercise is numbered; its solution is hidden until its toggle is clicked
        assert article.locator(".exercise .caption-number").first.inner_text().startswith(
            "Exercise 1")
        solution = article.locator(".solution")
        assert solution.count() == 1
        hidden_text = "NumPy's * is elementwise"
        assert not article.get_by_text("Multiply x by itself", exact=False).is_visible()
        solution.locator(".toggle-button, button").first.click()
        page.wait_for_timeout(500)
        assert article.get_by_text("Multiply x by itself", exact=False).is_visible(), hidden_text
        # an error shown on purpose: printed as stdout (type, message, the cell's line), with
        # no traceback and nothing on stderr (the outputs check would report either)
        shown = article.locator(".cell_output .output.stream").all_inner_texts()
        assert any("ValueError: could not convert string to float: 'seven'" in t
                   and "from this cell, line 4" in t for t in shown), shown
        # citations resolve to the bibliography
        assert article.locator(".bibtex-citation a").count() >= 2
        assert "Rumelhart" in article.locator(".citation-list").inner_text()
        # header buttons: repository, download of the .ipynb, Binder (a link, not loaded)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        assert any(h.endswith("_sources/showcase.ipynb") for h in hrefs), hrefs
        assert any(h.startswith("https://mybinder.org/v2/gh/dlcourse/dlcourse/main") for h in hrefs)
        # no Colab button: the course's package would not be installed there (README.md)
        assert not any("colab.research.google.com" in h for h in hrefs), hrefs
        assert "https://github.com/dlcourse/dlcourse" in hrefs
        # the JupyterHub button, present because the build was given a hub (the course's own
        # _config.yml has none): nbgitpuller pulls the repository and opens the notebook
        hub = [h for h in hrefs if h.startswith("https://hub.example.edu/")]
        assert hub, hrefs
        assert hub[0].startswith("https://hub.example.edu/hub/user-redirect/git-pull?repo="
                                 "https%3A//github.com/dlcourse/dlcourse") \
            or hub[0].startswith("https://hub.example.edu/hub/user-redirect/git-pull?repo="
                                 "https://github.com/dlcourse/dlcourse"), hub
        assert "showcase.ipynb" in hub[0] and "branch=main" in hub[0], hub
    finally:
        context.close()


# what sphinx-copybutton adds beside every <pre> at page load (its icon's <title> is the text)
COPY_BUTTON = ('<button class="copybtn o-tooltip--left" data-tooltip="Copy">Copy to clipboard'
               '</button>')


def cell(source: str, *outputs: str, tags: tuple[str, ...] = ()) -> str:
    """A notebook code cell as myst-nb 1.4 renders it (Pygments' colour <span>s left out)."""
    classes = "".join(f" tag_{tag}" for tag in tags)
    return (f'<div class="cell{classes} docutils container">\n'
            '<div class="cell_input docutils container">\n'
            '<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span>'
            f'{html.escape(source, quote=False)}\n</pre>{COPY_BUTTON}</div>\n</div>\n</div>\n'
            '<div class="cell_output docutils container">\n'
            + "".join(outputs) + '</div>\n</div>\n')


def output(kind: str, text: str) -> str:
    """An output block as myst-nb renders it: kind is stream (stdout), stderr or traceback."""
    lexer = "ipythontb" if kind == "traceback" else "myst-ansi"
    return (f'<div class="output {kind} highlight-{lexer} notranslate"><div class="highlight">'
            f'<pre><span></span>{html.escape(text, quote=False)}\n</pre>{COPY_BUTTON}</div>\n'
            '</div>\n')


def widget_output(mime: str, text: str) -> str:
    """A widget's output area (an interact's) as the widgets' HTML manager draws it."""
    return ('<div class="widget-subarea"><div class="lm-Widget lm-Panel jupyter-widgets '
            'widget-output"><div class="lm-Widget jp-OutputArea">'
            '<div class="lm-Widget lm-Panel jp-OutputArea-child">'
            '<div class="lm-Widget jp-OutputPrompt jp-OutputArea-prompt"></div>'
            '<div class="lm-Widget jp-RenderedText jp-mod-trusted jp-OutputArea-output" '
            f'data-mime-type="application/vnd.jupyter.{mime}">'
            f'<pre>{html.escape(text, quote=False)}</pre></div></div></div></div></div>\n')


TRACEBACK = """\
---------------------------------------------------------------------------
ZeroDivisionError                         Traceback (most recent call last)
Cell In[5], line 1
----> 1 1/0

ZeroDivisionError: division by zero"""

NOTEBOOK_OUTPUTS_BROKEN = "".join([
    cell("import tensorflow as tf", output("stderr", (
        "2026-01-05 10:00:00.000000: I tensorflow/core/util/port.cc:153] oneDNN custom "
        "operations are on.\n2026-01-05 10:00:00.000001: I tensorflow/core/platform/"
        "cpu_feature_guard.cc:210] This TensorFlow binary is optimized."))),
    cell("1/0", output("traceback", TRACEBACK)),
    cell("1/0", output("traceback", TRACEBACK.replace("by zero", "by zero, as was meant")),
         tags=("raises-exception",)),
    cell("@widgets.interact(n=(1, 3))\ndef g(n=2):\n    raise ValueError('bad n')",
         widget_output("stderr", "-" * 75 + "\nValueError" + " " * 32
                       + "Traceback (most recent call last)\n...\nValueError: bad n")),
])

# Outputs that pass: stdout (here an error printed the way dlcourse.notebook.expect_error does),
# a traceback in a cell tagged raises-exception, and a widget's stdout.
NOTEBOOK_OUTPUTS_GOOD = "".join([
    cell("with expect_error(ValueError, 'rank'):\n    model.predict(x)", output("stream", (
        "ValueError: Dense 'dense': expected input of rank 2 or more, got shape (3,)\n"
        "  raised in dlcourse/scratch/core.py, line 28, in _check_input\n"
        "  from this cell, line 1: model.predict(x)"))),
    cell("1/0", output("traceback", TRACEBACK), tags=("raises-exception",)),
    cell("@widgets.interact(n=(1, 3))\ndef f(n=3):\n    print([2**k for k in range(n)])",
         widget_output("stdout", "[1, 2, 4]\n")),
])

BROKEN_PAGE = r"""<!DOCTYPE html>
<html><head><title>broken</title>
<script src="https://cdn.example.invalid/library.js"></script>
</head><body>
<article class="bd-article">
<p>Raw TeX: $x^2$ was not parsed.</p>
<span class="math notranslate nohighlight">\(y = wx + b\)</span>
<img src="missing.png" alt="a picture that is not there">
<img src="dot.png">
<img src="dot.png" alt="dot.png">
<div class="cell_output"><img src="dot.png" alt="a dot, without a caption"></div>
<div class="cell_output"><script type="application/vnd.jupyter.widget-view+json">
{"version_major": 2, "version_minor": 0, "model_id": "abc123"}</script></div>
""" + NOTEBOOK_OUTPUTS_BROKEN + """
<a href="nowhere.html">a missing page</a>
<a href="good.html#no-such-anchor">a missing anchor</a>
<a href="good.html#here">a good link</a>
<a href="https://example.invalid/elsewhere">a link elsewhere is not a load</a>
<script>console.error("something broke");</script>
</article></body></html>
"""

GOOD_PAGE = """<!DOCTYPE html>
<html><head><title>good</title></head><body>
<article class="bd-article"><h1 id="here">A good page</h1>
<div class="cell_output"><figure><img src="dot.png" alt="A dot.">
<figcaption>A dot.</figcaption></figure></div>
""" + NOTEBOOK_OUTPUTS_GOOD + """
<a href="broken.html">back</a></article></body></html>
"""


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("broken-site")
    (site / "broken.html").write_text(BROKEN_PAGE)
    (site / "good.html").write_text(GOOD_PAGE)
    (site / "dot.png").write_bytes(PNG)
    with sitecheck.SiteServer(site) as server:
        yield site, server


@pytest.fixture(scope="module")
def broken_result(broken_site, browser):
    site, server = broken_site
    sitecheck.TIMEOUT_MS, saved = 3000, sitecheck.TIMEOUT_MS  # the widget never renders
    try:
        return sitecheck.visit(browser, server, site, "broken.html", dark=False)
    finally:
        sitecheck.TIMEOUT_MS = saved


@pytest.mark.browser
def test_a_clean_page_passes(broken_site, browser):
    site, server = broken_site
    result = sitecheck.visit(browser, server, site, "good.html", dark=False)
    assert not result.problems(), result.report()


@pytest.mark.browser
@pytest.mark.parametrize("check, expected", [
    ("remote_requests", ["https://cdn.example.invalid/library.js"]),
    ("console_errors", ["something broke"]),
    ("failed_loads", ["missing.png"]),
    ("math", ["formula not typeset: \\(y = wx + b\\)", "raw TeX left in the text"]),
    ("images", ["image does not load: missing.png"]),
    ("alt_and_captions", ["image without alt text: dot.png",
                          "figure output by a notebook cell without a caption: dot.png"]),
    ("widgets", ["widget did not render: model abc123"]),
    ("outputs", ["stderr output: 2026-01-05 10:00:00.000000: I tensorflow/core/util/port.cc:153]",
                 "(in the cell: import tensorflow as tf)",
                 "traceback in a cell not tagged raises-exception: ZeroDivisionError: division by "
                 "zero (in the cell: 1/0)",
                 "stderr or traceback in a widget's output: ValueError"]),
    ("links", ["missing file", "nowhere.html", "missing anchor", "no-such-anchor"]),
])
def test_every_check_can_fail(broken_result, check, expected):
    found = "\n".join(getattr(broken_result, check))
    for text in expected:
        assert text in found, f"{check} did not report {text!r}; it reported:\n{found}"
    assert "good.html#here" not in "\n".join(broken_result.links)
    assert "example.invalid/elsewhere" not in "\n".join(broken_result.remote_requests)


@pytest.mark.browser
def test_alt_text_made_of_a_file_name_does_not_count(broken_result):
    # Sphinx writes the image's file name as alt text when an author gives none
    assert sum("without alt text" in p for p in broken_result.alt_and_captions) == 2


@pytest.mark.browser
def test_a_traceback_is_reported_only_where_none_was_meant(broken_result):
    # the page has a second traceback, in a cell tagged raises-exception: not reported
    assert len(broken_result.outputs) == 3, broken_result.outputs
    assert not any("was meant" in p for p in broken_result.outputs), broken_result.outputs


def test_missing_chromium_skips_or_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(sitecheck, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("DLCOURSE_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        sitecheck.require_chromium()
    monkeypatch.setenv("DLCOURSE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        sitecheck.require_chromium()


def test_missing_book_fails_and_says_make_book(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="make book"):
        sitecheck.require_site(tmp_path / "html")
