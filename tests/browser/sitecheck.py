"""Open pages of a built Jupyter Book in Chromium and report what a reader would find broken.

Used by the browser tests (conftest.py, test_site.py, test_sitecheck.py). Everything that decides
what counts as broken lives here, in one place:

- a console error or an uncaught exception (except the few in KNOWN_CONSOLE_ERRORS);
- a request to any host but the local test server: the site must work offline. Every request is
  recorded; the ones to other hosts are aborted at once, so a test never waits on the network;
- a local file that fails to load (HTTP status >= 400, as the server saw it: this includes
  requests the page cannot observe, such as a browser's /favicon.ico);
- a formula left untypeset once MathJax is done: a math element without an mjx-container, or raw
  TeX delimiters (``$...$``, ``\\(``, ``\\[``) left in the text of the content area;
- an image that does not load;
- an image in the content area without real alt text (Sphinx uses the file name when there is
  none), and an image output by a notebook cell without a caption (a ``<figure>`` with a
  ``<figcaption>``): see "Figures" in README.md. Images drawn inside a widget's view are left
  out: the static figure that stands in for the widget has the caption and alt text;
- a Jupyter widget that does not render;
- a notebook cell's output on stderr (its first line is quoted), and a Python traceback shown
  where none was meant: an error output of a cell not tagged ``raises-exception``. Both are
  found by the classes myst-nb gives the output blocks, never by their text: a stderr stream is
  ``<div class="output stderr ...">``, an error output ``<div class="output traceback ...">``
  inside the cell's ``<div class="cell tag_<tag> ...">`` (a printed error, such as the one
  dlcourse.notebook.expect_error shows, is ``output stream``, stdout, and passes). The output
  area of a widget (an ``interact``'s, an ``Output``'s) is drawn in the browser from the saved
  widget state; there stderr and tracebacks both carry
  ``data-mime-type="application/vnd.jupyter.stderr"`` and always fail: the build does not warn
  about them;
- an internal link to a file that does not exist, or to an anchor that the target page lacks;
- in dark mode (after clicking the theme's switch) and after a reload in dark mode: any console
  error, and a theme that did not switch.
"""

from __future__ import annotations

import functools
import html.parser
import os
import posixpath
import re
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"  # the built book (`make book`)
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install Debian's Chromium: apt-get install chromium"
LOCAL_HOST = "127.0.0.1"

# Flags for a headless Chromium that talks to no one but the test server: without the
# background-networking ones Chromium contacts Google hosts on its own.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Console errors that are known, understood and harmless, with the reason. Each entry is a
# regular expression matched against the message. Keep this list short and explain every entry;
# an error that is not here fails the test of the page it appears on.
KNOWN_CONSOLE_ERRORS: dict[str, str] = {
    # (none at present: the errors the theme and the widgets used to log are fixed at the source;
    # see tools/sphinx_offline.py, _extra/js/widgets-setup.js and html_context in _config.yml)
}

# Folders of the built site that hold assets, not pages.
NOT_PAGES = ("_static", "_sources", "_images", "vendor", "js", "_sphinx_design_static")

VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000

_MATH_JS = r"""
() => {
  const root = document.querySelector('article.bd-article') || document.body;
  const problems = [];
  root.querySelectorAll('.math').forEach((el) => {
    if (!el.querySelector('mjx-container')) {
      problems.push('formula not typeset: ' + el.textContent.trim().slice(0, 80));
    }
  });
  const skip = 'pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight';
  const raw = /\$[^$\s](?:[^$]*[^$\s])?\$|\\\(|\\\)|\\\[|\\\]/;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement || node.parentElement.closest(skip)) continue;
    const match = node.textContent.match(raw);
    if (match) {
      const start = Math.max(0, match.index - 30);
      problems.push('raw TeX left in the text: ...' +
                    node.textContent.slice(start, match.index + 50).trim() + '...');
    }
  }
  return problems;
}
"""

_IMAGES_JS = r"""
async () => {
  const images = Array.from(document.images);
  images.forEach((img) => { if (img.loading === 'lazy') img.loading = 'eager'; });
  const settled = (img) => img.complete ? Promise.resolve() : new Promise((resolve) => {
    img.addEventListener('load', resolve, {once: true});
    img.addEventListener('error', resolve, {once: true});
    setTimeout(resolve, 15000);
  });
  await Promise.all(images.map(settled));
  const broken = [];
  for (const img of images) {
    if (img.naturalWidth > 0 || !img.getAttribute('src')) continue;  // no src: not loaded yet
    const decodes = await img.decode().then(() => true, () => false);
    if (!decodes) broken.push(img.getAttribute('src').slice(0, 120));
  }
  return broken;
}
"""

_ALT_JS = r"""
() => {
  const root = document.querySelector('article.bd-article');
  if (!root) return [];
  const problems = [];
  const fileLike = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
  const short = (src) => src.startsWith('data:') ? src.slice(0, 40) + '...' : src;
  root.querySelectorAll('img').forEach((img) => {
    // An image inside a widget's view is drawn by the widget (e.g. a plot in an Output widget);
    // the static figure that stands in for the widget carries the caption and the alt text.
    if (img.closest('.jupyter-widgets')) return;
    const src = short(img.getAttribute('src') || '');
    const alt = (img.getAttribute('alt') || '').trim();
    const file = src.split('/').pop();
    if (!alt || alt === src || alt.split('/').pop() === file || fileLike.test(alt)) {
      problems.push('image without alt text: ' + src);
    }
    if (img.closest('.cell_output')) {
      const figure = img.closest('figure');
      const caption = figure && figure.querySelector('figcaption');
      if (!caption || !caption.textContent.replace('#', '').trim()) {
        problems.push('figure output by a notebook cell without a caption: ' + src);
      }
    }
  });
  return problems;
}
"""

_WIDGETS_RENDERED_JS = r"""
() => {
  const type = 'application/vnd.jupyter.widget-view+json';
  const views = document.querySelectorAll(`script[type="${type}"]`);
  const missing = [];
  views.forEach((script) => {
    let id = '?';
    try { id = JSON.parse(script.textContent).model_id; } catch (e) {}
    const area = script.previousElementSibling;
    const view = area && area.classList.contains('widget-subarea')
      ? area.querySelector('.jupyter-widgets') : null;
    const box = view ? view.getBoundingClientRect() : null;
    if (!view || view.children.length === 0 || box.width === 0 || box.height === 0) {
      missing.push('widget did not render: model ' + id);
    }
  });
  return missing;
}
"""

_OUTPUTS_JS = r"""
() => {
  // What myst-nb renders (myst_nb/core/render.py: render_stderr, render_error) and what the
  // widgets' output areas draw (@jupyterlab/outputarea, stream and error outputs alike).
  const stderr = 'div.output.stderr';
  const traceback = 'div.output.traceback';
  const widget = '.jupyter-widgets [data-mime-type="application/vnd.jupyter.stderr"]';
  const clip = (text) => text.length > 120 ? text.slice(0, 117) + '...' : text;
  // the text of the block's <pre>: sphinx-copybutton adds a button beside it, in the same div
  const lines = (el) => (el.querySelector('pre') || el).textContent.split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => /\w/.test(l));
  const first = (el) => clip(lines(el)[0] || '(blank)');
  const last = (el) => clip(lines(el).slice(-1)[0] || '(blank)');
  const problems = [];
  document.querySelectorAll([stderr, traceback, widget].join(', ')).forEach((el) => {
    const cell = el.closest('.cell');
    const input = cell && cell.querySelector('.cell_input');
    const where = input && lines(input).length ? ` (in the cell: ${first(input)})` : '';
    if (el.matches(widget)) {
      problems.push(`stderr or traceback in a widget's output: ${first(el)}${where}`);
    } else if (el.matches(stderr)) {
      problems.push(`stderr output: ${first(el)}${where}`);
    } else if (!(cell && cell.classList.contains('tag_raises-exception'))) {
      problems.push(`traceback in a cell not tagged raises-exception: ${last(el)}${where}`);
    }
  });
  return problems;
}
"""

_MATHJAX_DONE_JS = r"""
async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  return true;
}
"""


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass

    def log_request(self, code="-", size="-") -> None:
        self.server.log.append((str(getattr(code, "value", code)), self.path))


class SiteServer:
    """Serve a folder on 127.0.0.1, on a free port, from a thread; record (status, path)."""

    def __init__(self, root: Path):
        handler = functools.partial(_Handler, directory=str(root))
        self.httpd = ThreadingHTTPServer((LOCAL_HOST, 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.log = []
        self.url = f"http://{LOCAL_HOST}:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def log(self) -> list[tuple[str, str]]:
        return self.httpd.log

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def launch_chromium(playwright):
    """Debian's Chromium, headless, with a fresh profile (Playwright makes a temporary one)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                      headless=True)


def site_pages(site: Path) -> list[str]:
    """Every HTML page of a built site, as paths relative to it (posix)."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.parts[0] in NOT_PAGES:
            continue
        pages.append(rel.as_posix())
    return pages


def screenshot_name(rel: str, suffix: str = "") -> str:
    return rel.removesuffix(".html") + suffix + ".png"


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (name == "name" and tag == "a"):
                if value:
                    self.ids.add(value)


@functools.cache
def ids_in(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def broken_links(hrefs: list[str], base_url: str, site: Path) -> list[str]:
    """Internal links whose file is missing or whose #anchor the target page does not have."""
    base = urlsplit(base_url)
    problems = []
    for href in sorted(set(hrefs)):
        url = urlsplit(href)
        if url.scheme not in ("http", "https") or url.netloc != base.netloc:
            continue  # links to other sites are links, not loads; mailto:, javascript: ...
        rel = unquote(url.path).lstrip("/")
        target = site / rel
        if rel == "" or rel.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"link to a missing file: {href}")
            continue
        anchor = unquote(url.fragment)
        if anchor and target.suffix == ".html" and anchor not in ids_in(target):
            problems.append(f"link to a missing anchor: {href}")
    return problems


@dataclass
class PageResult:
    rel: str
    requests: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)
    math: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    alt_and_captions: list[str] = field(default_factory=list)
    widgets: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    dark_mode: list[str] = field(default_factory=list)

    CHECKS = ("remote_requests", "console_errors", "failed_loads", "math", "images",
              "alt_and_captions", "widgets", "outputs", "links", "dark_mode")

    def problems(self) -> list[str]:
        return [f"{name}: {item}" for name in self.CHECKS for item in getattr(self, name)]

    def report(self) -> str:
        return f"{self.rel}:\n  " + "\n  ".join(self.problems())


def is_known_console_error(text: str) -> bool:
    return any(re.search(pattern, text) for pattern in KNOWN_CONSOLE_ERRORS)


class _Watcher:
    """Attach to a page: record requests, abort the remote ones, collect console errors."""

    def __init__(self, context, page, server: SiteServer, result: PageResult):
        self.result = result
        self.server = server
        self.errors: list[str] = []
        context.route("**/*", self._route)
        page.on("request", lambda request: result.requests.append(request.url))
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("websocket", lambda ws: self._remote(ws.url))
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in ("http", "https", "ws", "wss") or parts.hostname == LOCAL_HOST

    def _remote(self, url: str) -> None:
        if not self._is_local(url) and url not in self.result.remote_requests:
            self.result.remote_requests.append(url)

    def _route(self, route) -> None:
        url = route.request.url
        if self._is_local(url):
            route.continue_()
        else:
            self._remote(url)
            route.abort("blockedbyclient")

    def _console(self, message) -> None:
        if message.type == "error":
            location = message.location or {}
            where = location.get("url", "")
            self.errors.append(f"{message.text} ({where})" if where else message.text)

    def _response(self, response) -> None:
        if response.status >= 400 and self._is_local(response.url):
            self.result.failed_loads.append(f"{response.status} {response.url}")

    def _failed(self, request) -> None:
        if self._is_local(request.url):
            self.result.failed_loads.append(f"{request.failure} {request.url}")

    def take_errors(self) -> list[str]:
        errors = [e for e in self.errors if not is_known_console_error(e)]
        self.errors.clear()
        return errors


def _settle(page) -> None:
    """Wait until MathJax has typeset the page and the widgets have rendered (or time out)."""
    page.evaluate(_MATHJAX_DONE_JS)
    if page.evaluate("document.querySelector('script[type=\"application/vnd.jupyter."
                     "widget-view+json\"]') !== null"):
        try:
            page.wait_for_function(f"({_WIDGETS_RENDERED_JS})().length === 0",
                                   timeout=TIMEOUT_MS)
        except Exception:  # reported by the widget check below, with the model ids
            pass
        page.evaluate(_MATHJAX_DONE_JS)  # widget labels are typeset after the widgets render


def _switch_to_dark(page) -> str | None:
    """Click the theme's switch until the page is dark; None if it worked, else why not."""
    for _ in range(4):
        if page.evaluate("document.documentElement.dataset.theme") == "dark":
            return None
        button = page.locator("button.theme-switch-button:visible").first
        if button.count() == 0:
            return "no visible theme switch button"
        button.click()
        page.wait_for_timeout(100)
    theme = page.evaluate("document.documentElement.dataset.theme")
    return None if theme == "dark" else f"theme is {theme!r} after clicking the switch"


_REDIRECT = re.compile(r'<meta[^>]+http-equiv="refresh"[^>]+url=([^"]+)"', re.I)


def redirect_target(path: Path) -> str | None:
    """The target of a page that only redirects (jupyter-book's index.html), else None."""
    match = _REDIRECT.search(path.read_text(encoding="utf-8", errors="replace"))
    return match.group(1).strip() if match else None


def visit(browser, server: SiteServer, site: Path, rel: str,
          screenshots: Path | None = None, dark: bool = True) -> PageResult:
    """Open one page as a first-time visitor and run every check on it.

    A page that only redirects is checked for its target, which is checked as a page itself.
    """
    result = PageResult(rel)
    target = redirect_target(site / rel)
    if target is not None:
        result.requests.append(server.url + rel)
        result.links = broken_links([server.url + posixpath.join(posixpath.dirname(rel), target)],
                                    server.url, site)
        return result
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        watcher = _Watcher(context, page, server, result)
        log_start = len(server.log)
        url = server.url + rel
        page.goto(url, wait_until="load")
        _settle(page)
        result.math = page.evaluate(_MATH_JS)
        result.images = [f"image does not load: {src}" for src in page.evaluate(_IMAGES_JS)]
        result.alt_and_captions = page.evaluate(_ALT_JS)
        result.widgets = page.evaluate(_WIDGETS_RENDERED_JS)
        result.outputs = page.evaluate(_OUTPUTS_JS)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        result.links = broken_links(hrefs, url, site)
        if screenshots is not None:
            target = screenshots / screenshot_name(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=True)
        result.console_errors = watcher.take_errors()
        if dark:
            why = _switch_to_dark(page)
            if why:
                result.dark_mode.append(why)
            page.wait_for_timeout(300)
            result.dark_mode += [f"console error after switching to dark: {e}"
                                 for e in watcher.take_errors()]
            page.reload(wait_until="load")  # the mode is remembered: the page opens dark
            _settle(page)
            theme = page.evaluate("document.documentElement.dataset.theme")
            if theme != "dark":
                result.dark_mode.append(f"after a reload the theme is {theme!r}, not 'dark'")
            result.dark_mode += [f"console error on a dark page load: {e}"
                                 for e in watcher.take_errors()]
            if screenshots is not None:
                page.screenshot(path=str(screenshots / screenshot_name(rel, ".dark")))
        for status, path in server.log[log_start:]:
            if status.isdigit() and int(status) >= 400:
                entry = f"{status} {server.url}{path.lstrip('/')}"
                if not any(entry.split()[1] in seen for seen in result.failed_loads):
                    result.failed_loads.append(entry)
    finally:
        context.close()
    return result


def require_chromium() -> Path:
    """Chromium's path; else skip the test, or fail it when DLCOURSE_REQUIRE_BROWSER=1 (CI)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = (f"Chromium not found at {CHROMIUM}: the browser tests need it ({INSTALL_HINT}). "
               "Set DLCOURSE_REQUIRE_BROWSER=1 to make its absence an error (CI does).")
    if os.environ.get("DLCOURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_site(site: Path) -> Path:
    """The built book's folder; else fail the test (not skip): the book must be built first."""
    if not (site / "index.html").is_file():
        pytest.fail(f"no built book in {site}: run `make book` first (or `make book-strict`)",
                    pytrace=False)
    return site
