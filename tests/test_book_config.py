"""tools/book_config.py derives the build configurations from the one _config.yml."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "book_config.py"


def derive(tmp_path, *args):
    output = tmp_path / "sub" / "_config.yml"
    run = subprocess.run([sys.executable, str(TOOL), "--source", str(ROOT / "_config.yml"),
                          "--output", str(output), *args], capture_output=True, text=True)
    return run, output


def test_execution_mode_is_set_and_the_rest_kept(tmp_path):
    run, output = derive(tmp_path, "--execute", "force")
    assert run.returncode == 0, run.stderr
    source = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    derived = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert derived["execute"]["execute_notebooks"] == "force"
    assert derived["title"] == source["title"]
    assert derived["launch_buttons"] == source["launch_buttons"]
    # local extensions stay found from the new location
    for path in derived["sphinx"]["local_extensions"].values():
        assert (output.parent / path / "sphinx_offline.py").is_file()


def test_a_jupyterhub_url_adds_the_launch_button(tmp_path):
    run, output = derive(tmp_path, "--execute", "cache", "--jupyterhub-url",
                         "https://hub.example.edu/")
    assert run.returncode == 0, run.stderr
    derived = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert derived["launch_buttons"]["jupyterhub_url"] == "https://hub.example.edu"
    assert derived["execute"]["execute_notebooks"] == "cache"


def test_an_empty_jupyterhub_url_keeps_the_configured_one(tmp_path):
    run, output = derive(tmp_path, "--execute", "cache", "--jupyterhub-url", "")
    assert run.returncode == 0, run.stderr
    source = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    derived = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert derived["launch_buttons"]["jupyterhub_url"] == \
        source["launch_buttons"]["jupyterhub_url"]


def test_a_jupyterhub_url_that_is_not_an_address_is_refused(tmp_path):
    for bad in ("hub.example.edu", "ftp://hub.example.edu", "https://"):
        run, output = derive(tmp_path, "--execute", "cache", "--jupyterhub-url", bad)
        assert run.returncode == 2
        assert "expected the address of a JupyterHub" in run.stderr and repr(bad) in run.stderr
        assert not output.exists()
