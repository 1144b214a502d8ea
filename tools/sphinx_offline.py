"""Sphinx extension of the dlcourse book: pages load nothing from another host, and no script twice.

Loaded by _config.yml (`sphinx: local_extensions`). On every HTML page it

- drops a script that is already on the page. Sphinx 7.4 registers an inline script added after
  the builder starts twice (once with filename None, once with ''), so sphinx-thebe's
  `const THEBE_JS_URL = ...` appeared twice and the second copy threw "Identifier 'THEBE_JS_URL'
  has already been declared" in every page's console;
- warns (an error under `make book-strict`, which builds with -W) when a page would load a script
  or a stylesheet from another host, e.g. a new extension that defaults to a CDN: the site must
  work offline, and the browser tests would fail on it too, later and with less context.

In the HTML that notebook cells output, it

- removes the stylesheet link to FontAwesome 4 on a CDN that matplotlib puts in every animation
  (`anim.to_jshtml()`): the theme ships FontAwesome, which draws the animation's buttons;
- gives the frames of a matplotlib animation the alt text of its cell's metadata, the
  `mystnb.image.alt` that a figure has (myst-nb applies it to images only; `mystnb.figure`, the
  numbered caption, it applies to any output);
- warns (an error under -W) when what remains would load anything from another host.
"""

from __future__ import annotations

import html
import os
import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _key(asset: Any) -> tuple:
    filename = os.fspath(getattr(asset, "filename", asset) or "")
    attributes = getattr(asset, "attributes", {})
    return filename, tuple(sorted((k, str(v)) for k, v in attributes.items()))


def _filename(asset: Any) -> str:
    return os.fspath(getattr(asset, "filename", asset) or "")


def _is_remote(filename: str) -> bool:
    return "://" in filename or filename.startswith("//")


def check_page_assets(app: Sphinx, pagename: str, templatename: str,
                      context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if scripts is not None:
        seen: set[tuple] = set()
        unique = []
        for script in scripts:
            key = _key(script)
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique  # the builder restores its own list after the page
    for kind, assets in (("script", scripts or []), ("stylesheet", context.get("css_files", []))):
        for asset in assets:
            if _is_remote(_filename(asset)):
                logger.warning("page %s would load a %s from another host: %s (the site must "
                               "work offline: serve it from the site, see tools/vendor.py)",
                               pagename, kind, _filename(asset), type="dlcourse",
                               subtype="remote_asset")


# matplotlib's animation template (matplotlib/_animation_data.py, JS_INCLUDE)
_MPL_FONTAWESOME = re.compile(
    r'<link\b[^>]*href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"[^>]*>\s*', re.I)
_MPL_FRAME = '<img id="_anim_img'
# an element that loads what its src/href names, from another host, or a CSS url() from one
_REMOTE_LOAD = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?"""
    r"""\b(?:src|href|data)\s*=\s*["']?(?:https?:)?//[^"'\s>]+"""
    r"""|url\(\s*["']?(?:https?:)?//[^"')\s]+""", re.I)


def _cell_metadata(node: nodes.Node) -> dict:
    while node is not None:
        if isinstance(node, nodes.Element) and node.get("nb_element") == "cell_code":
            return node.get("cell_metadata") or {}
        node = node.parent
    return {}


def fix_cell_html(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for raw in list(doctree.findall(nodes.raw)):
        if "html" not in raw.get("format", "").split():
            continue
        text = raw.astext()
        new = text
        if _MPL_FRAME in new:
            new = _MPL_FONTAWESOME.sub("", new)
            mystnb = _cell_metadata(raw).get("mystnb", {})
            alt = (mystnb.get("image") or {}).get("alt")
            if alt:
                new = new.replace(_MPL_FRAME, f'<img alt="{html.escape(alt)}" id="_anim_img')
        for match in _REMOTE_LOAD.finditer(new):
            logger.warning("a cell's HTML output would load from another host: %s (the site "
                           "must work offline)", match.group(0)[:160], location=raw,
                           type="dlcourse", subtype="remote_asset")
        if new != text:
            raw.replace_self(nodes.raw(raw.rawsource, new, format=raw["format"],
                                       classes=raw.get("classes", [])))


def setup(app: Sphinx) -> dict[str, Any]:
    # late, so that the scripts other extensions add in html-page-context are seen too
    app.connect("html-page-context", check_page_assets, priority=900)
    app.connect("doctree-resolved", fix_cell_html)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
