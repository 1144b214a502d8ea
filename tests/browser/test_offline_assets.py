"""The site loads nothing from elsewhere: vendored JavaScript (tools/vendor.py) pinned,
checksummed and named consistently; the build extension (tools/sphinx_offline.py) at work."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest
import sitecheck

ROOT = sitecheck.ROOT


def _load_vendor():
    spec = importlib.util.spec_from_file_location("vendor_tool", ROOT / "tools" / "vendor.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


vendor = _load_vendor()


def test_every_package_is_pinned_with_a_sha256():
    for package in vendor.PACKAGES:
        assert re.fullmatch(r"\d+\.\d+\.\d+", package.version), package
        assert re.fullmatch(r"[0-9a-f]{64}", package.sha256), package
        assert package.licence, f"{package.name}: say what its licence is and where its text is"


def test_config_and_scripts_name_the_pinned_folders():
    assert vendor.check_references() == []


def test_a_folder_that_is_not_pinned_is_reported(tmp_path):
    (tmp_path / "_config.yml").write_text("mathjax_path: ../vendor/mathjax-9.9.9/es5/tex.js\n")
    (problem,) = vendor.check_references(tmp_path)
    assert "mathjax-9.9.9" in problem


def test_the_site_loads_mathjax_and_the_widgets_from_the_vendored_folders():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*mathjax_path: \.\./vendor/mathjax-[\d.]+/es5/tex-mml-chtml\.js$",
                     config, re.M)
    assert not re.findall(r"https?://\S+\.(?:js|css)\b", config), "a script from another host"


@pytest.mark.parametrize("package", vendor.PACKAGES, ids=lambda p: p.name)
def test_vendored_folders_match_their_pins(package):
    stamp = vendor.DEST / package.folder / vendor.STAMP
    assert stamp.is_file(), f"{package.name} is not vendored here: run `make vendor`"
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    assert recorded["sha256"] == package.sha256 and recorded["version"] == package.version


def _load_extension():
    spec = importlib.util.spec_from_file_location("sphinx_offline",
                                                  ROOT / "tools" / "sphinx_offline.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_build_drops_duplicate_scripts_and_warns_about_remote_assets(monkeypatch):
    from unittest import mock

    from sphinx.builders.html._assets import _CascadingStyleSheet, _JavaScript

    extension = _load_extension()
    logger = mock.Mock()
    monkeypatch.setattr(extension, "logger", logger)
    thebe = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("_static/a.js"), _JavaScript(None, body=thebe),
               _JavaScript("", body=thebe), _JavaScript("_static/a.js"),
               _JavaScript("https://cdn.example.invalid/tex.js")]
    context = {"script_files": scripts,
               "css_files": [_CascadingStyleSheet("//fonts.example.invalid/font.css")]}
    extension.check_page_assets(None, "chapters/x", "page.html", context, None)
    assert [(s.filename, s.attributes.get("body")) for s in scripts] == [
        ("_static/a.js", None), (None, thebe), ("https://cdn.example.invalid/tex.js", None)]
    warned = " ".join(str(call.args) for call in logger.warning.call_args_list)
    assert "cdn.example.invalid/tex.js" in warned and "fonts.example.invalid" in warned
    assert logger.warning.call_count == 2


def test_cell_html_is_made_offline_and_animations_get_alt_text(monkeypatch):
    from unittest import mock

    from docutils import nodes
    from docutils.utils import new_document
    from matplotlib._animation_data import JS_INCLUDE

    extension = _load_extension()
    logger = mock.Mock()
    monkeypatch.setattr(extension, "logger", logger)
    document = new_document("test")
    metadata = {"mystnb": {"image": {"alt": 'A "wave"'}}}
    animation = JS_INCLUDE + '<img id="_anim_img123">'
    for html in (animation, '<script src="https://cdn.example.invalid/plotly.js"></script>'):
        cell = nodes.container(nb_element="cell_code", cell_metadata=metadata)
        cell += nodes.raw("", html, format="html")
        document += cell
    extension.fix_cell_html(None, document, "chapters/x")
    first, second = (raw.astext() for raw in document.findall(nodes.raw))
    assert "maxcdn" not in first and "<link" not in first
    assert '<img alt="A &quot;wave&quot;" id="_anim_img123">' in first
    assert "cdn.example.invalid/plotly.js" in second  # left as it is, but reported
    assert logger.warning.call_count == 1
    assert "cdn.example.invalid/plotly.js" in str(logger.warning.call_args)
