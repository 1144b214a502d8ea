"""The built book, page by page, in Chromium: offline, typeset, rendered, linked, light and dark.

Every HTML page found in _build/html is opened as a first-time visitor (see sitecheck.py for what
is checked); a screenshot of each goes to _build/screenshots/<page>.png (and <page>.dark.png).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sitecheck
from sitecheck import SITE

pytestmark = pytest.mark.browser

PAGES = sitecheck.site_pages(SITE) if SITE.is_dir() else []


@pytest.mark.parametrize("rel", PAGES or ["(no built book)"])
def test_page(rel, site, server, browser, screenshots):
    result = sitecheck.visit(browser, server, site, rel, screenshots=screenshots)
    assert result.requests, f"{rel}: the page made no request at all"
    assert not result.problems(), result.report()


def test_every_chapter_in_the_toc_is_a_page(site):
    """The page list is what the build produced, not a fixed list: every chapter is in it."""
    import yaml

    toc = yaml.safe_load((site.parents[1] / "_toc.yml").read_text(encoding="utf-8"))

    def files(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            for key in ("chapters", "sections", "parts"):
                yield from files(entry.get(key, []))

    pages = set(sitecheck.site_pages(site))
    for name in [toc["root"], *files(toc.get("parts", toc.get("chapters", [])))]:
        assert f"{name}.html" in pages, f"{name} is in _toc.yml but not in {site}"


def test_search_works_offline(site, server, browser):
    """Search for a word of the title page: the results list pages, with no request elsewhere."""
    root_page = (site / "index.html").read_text(encoding="utf-8")
    target = re.search(r'url=([^"]+\.html)', root_page)  # index.html redirects to the root page
    title_page = (site / target.group(1)).read_text(encoding="utf-8") if target else root_page
    heading = re.search(r"<h1>(.*?)<", title_page, re.S).group(1)
    word = max(re.findall(r"[A-Za-z]{4,}", heading), key=len).lower()

    result = sitecheck.PageResult(f"search.html?q={word}")
    context = browser.new_context(viewport=sitecheck.VIEWPORT)
    try:
        page = context.new_page()
        watcher = sitecheck._Watcher(context, page, server, result)
        page.goto(f"{server.url}search.html?q={quote(word)}", wait_until="load")
        page.wait_for_selector("#search-results ul.search li", timeout=sitecheck.TIMEOUT_MS)
        hits = page.eval_on_selector_all("#search-results ul.search li a",
                                         "links => links.map(a => a.href)")
        summary = page.inner_text("#search-results")
        result.console_errors = watcher.take_errors()
    finally:
        context.close()
    assert hits, f"searching {word!r} found nothing: {summary}"
    assert not result.remote_requests and not result.console_errors, result.report()
    assert not sitecheck.broken_links(hits, server.url, site)
