"""Checks of the repository itself: notebooks without outputs, pins, the table of contents."""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def notebooks_with_outputs(paths):
    dirty = []
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(path.name)
                break
    return dirty


def test_notebooks_are_committed_without_outputs():
    assert notebooks_with_outputs(NOTEBOOKS) == [], (
        "strip outputs with `jupyter nbconvert --clear-output --inplace chapters/*.ipynb`"
    )


def test_output_check_detects_outputs(tmp_path):
    nb = {"cells": [{"cell_type": "code", "execution_count": 1, "outputs": [{"text": "1"}],
                     "source": "1", "metadata": {}}], "metadata": {}, "nbformat": 4,
          "nbformat_minor": 5}
    path = tmp_path / "with_output.ipynb"
    path.write_text(json.dumps(nb))
    assert notebooks_with_outputs([path]) == ["with_output.ipynb"]


def test_requirements_are_pinned_exactly():
    lines = [line.split("#")[0].strip()
             for line in (ROOT / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line]
    assert requirements, "requirements.txt is empty"
    for requirement in requirements:
        pinned = re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][A-Za-z0-9_.+\-]*", requirement)
        assert pinned, f"not pinned exactly: {requirement}"
    names = {r.split("==")[0].lower() for r in requirements}
    for needed in ["jupyter-book", "numpy", "matplotlib", "ipywidgets", "nbval", "jupyterlab",
                   "tqdm", "pytest", "mlxtend"]:
        assert needed in names, f"{needed} is not pinned"
    assert {"tensorflow", "tensorflow-cpu"} & names
    jb = next(r for r in requirements if r.lower().startswith("jupyter-book=="))
    major = int(jb.split("==")[1].split(".")[0])
    assert major < 2, "jupyter-book 2.x fetches its theme from the web"


def toc_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        for key in ("chapters", "sections", "parts"):
            yield from toc_files(entry.get(key, []))


def test_every_toc_entry_exists_and_every_chapter_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"], *toc_files(toc.get("parts", []))]
    for name in files:
        matches = [p for p in ROOT.glob(name + ".*") if p.suffix in {".md", ".ipynb"}]
        assert len(matches) == 1, f"_toc.yml names {name!r}: found {matches}"
    for notebook in NOTEBOOKS:
        assert f"chapters/{notebook.stem}" in files, f"{notebook.name} is not in _toc.yml"


def test_readme_names_the_test_command_that_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test$", ci, re.M)


def test_import_dlcourse_is_light():
    code = ("import sys, dlcourse; heavy = {'tensorflow', 'matplotlib', 'keras'}"
            " & set(sys.modules);"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_readme_layout_names_every_module():
    # The README's layout is how a newcomer finds a module: a module missing there is lost.
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    package = ROOT / "dlcourse"
    entries = [path for folder in (package, package / "scratch") for path in folder.iterdir()
               if (path.suffix == ".py" and path.name != "__init__.py")
               or (path.is_dir() and (path / "__init__.py").exists())]
    named = [f"{path.name}/" if path.is_dir() else path.name for path in entries]
    missing = sorted(name for name in named if not re.search(rf"\b{re.escape(name)}", layout))
    assert missing == [], f"modules the README's layout does not name: {missing}"


def test_only_keras_ref_imports_tensorflow():
    # The from-scratch code is NumPy only; TensorFlow is imported in one place, dlcourse.keras_ref.
    importing = re.compile(r"^\s*(import|from)\s+(tensorflow|keras|tf_keras)\b", re.M)
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "dlcourse").rglob("*.py")
                 if importing.search(path.read_text(encoding="utf-8"))
                 and "keras_ref" not in path.relative_to(ROOT).parts]
    assert offenders == []
    assert importing.search((ROOT / "dlcourse" / "keras_ref" / "__init__.py").read_text())


def test_notebooks_use_the_python3_kernel():
    for notebook in NOTEBOOKS:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        kernel = nb["metadata"].get("kernelspec", {}).get("name")
        assert kernel == "python3", f"{notebook.name}: kernel {kernel!r}"


def test_every_launch_button_leads_to_an_environment_with_the_package():
    # A launch button must open a notebook whose first `import dlcourse` works. Binder installs
    # the package (postBuild) with the pinned requirements; Colab would not, so it has no button.
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons = {k for k, v in config.get("launch_buttons", {}).items() if k.endswith("_url") and v}
    assert buttons <= {"binderhub_url", "jupyterhub_url"}, buttons
    if "binderhub_url" in buttons:
        post_build = (ROOT / "postBuild").read_text()
        assert re.search(r"^pip install .*-e \.$", post_build, re.M), post_build
