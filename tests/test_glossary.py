"""The glossary is linked from the chapters, and every link lands on a term it defines.

Sphinx warns about a ``{term}`` that names no glossary entry (and the strict build fails on the
warning), but only after executing every notebook; these checks give the same answer in a
second and also catch what Sphinx cannot: a term whose introducing chapter never links to it.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
GLOSSARY = CHAPTERS / "glossary.md"
ROLE = re.compile(r"\{term\}`([^`]+)`")


def glossary_entries(text):
    """The entries of the glossary directive: a list of (names, chapter that introduces it)."""
    body = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    entries, names = [], []
    for line in body.splitlines():
        if line and not line.startswith((" ", ":")):
            names.append(line.strip())
        elif names:
            entries.append([names, None])
            names = []
        found = re.search(r"Introduced in \{doc\}`([^`]+)`", line)
        if found and entries:
            entries[-1][1] = found.group(1)
    return entries


def term_targets(markdown):
    """The glossary terms that ``{term}`` roles in some MyST text point to, lower case."""
    targets = []
    for content in ROLE.findall(markdown):
        explicit = re.fullmatch(r"(?s).*<(.+)>", content)
        targets.append((explicit.group(1) if explicit else content).strip().lower())
    return targets


def markdown_of(path):
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(cell["source"]) for cell in cells
                         if cell["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


ENTRIES = glossary_entries(GLOSSARY.read_text(encoding="utf-8"))
PAGES = sorted(CHAPTERS.glob("*.ipynb")) + sorted(CHAPTERS.glob("*.md"))


def test_the_glossary_parser_reads_every_entry():
    assert len(ENTRIES) > 80
    names = {name for names, _ in ENTRIES for name in names}
    assert {"gradient descent", "backpropagation", "convolution", "LSTM",
            "long short-term memory"} <= names
    assert all(chapter for _, chapter in ENTRIES), \
        [names for names, chapter in ENTRIES if not chapter]


def test_term_targets_reads_both_forms_of_the_role():
    text = "A {term}`Neural networks <neural network>` and a {term}`ReLU`; `{term}` alone is not."
    assert term_targets(text) == ["neural network", "relu"]


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_every_term_link_names_a_glossary_entry(page):
    known = {name.lower() for names, _ in ENTRIES for name in names}
    unknown = sorted(set(term_targets(markdown_of(page))) - known)
    assert not unknown, f"{page.name} links to terms the glossary does not define: {unknown}"


# The numbered chapters introduce terms; appendices (the proof page) only use them.
@pytest.mark.parametrize("notebook", sorted(CHAPTERS.glob("[0-9]*.ipynb")),
                         ids=lambda path: path.stem)
def test_each_chapter_links_the_terms_it_introduces(notebook):
    linked = set(term_targets(markdown_of(notebook)))
    introduced = [names for names, chapter in ENTRIES if chapter == notebook.stem]
    assert introduced, f"the glossary names no term introduced in {notebook.stem}"
    missing = [names[0] for names in introduced
               if not linked & {name.lower() for name in names}]
    assert not missing, (f"{notebook.name} introduces these glossary terms but never links them "
                         f"with {{term}}: {missing}")


def test_every_introducing_chapter_exists():
    for names, chapter in ENTRIES:
        assert (CHAPTERS / f"{chapter}.ipynb").exists() or (CHAPTERS / f"{chapter}.md").exists(), \
            f"glossary entry {names[0]!r} is introduced in {chapter!r}, which is not a chapter"
