"""Fetch the JavaScript that the website serves itself, so that no page loads anything from a CDN.

The book's pages need three browser libraries that Sphinx and myst-nb would otherwise load from
CDNs: MathJax 3 (typesets the formulas), RequireJS and the Jupyter widgets HTML manager (render
ipywidgets outputs). This script fetches each one from the npm registry with `npm pack` at the
exact version pinned below, checks the tarball's SHA-256 against the checksum pinned below (a
mismatch is an error and nothing is written), and extracts the files the site needs into
``_extra/vendor/<name>-<version>/``. ``_extra/`` is the book's ``html_extra_path``: Sphinx copies
it once into the site root (``_build/html/vendor/...``), unlike ``_static/``, whose scripts
jupyter-book would inject into every page.

`make vendor` runs this script; `make book` and `make book-strict` depend on it. A package whose
files are already extracted with the pinned checksum is skipped, so the script is a no-op when
nothing changed. ``_extra/vendor/`` is not committed (see .gitignore): it is rebuilt from the pins.

To update a package: change its version, run `npm pack NAME@VERSION`, put the printed tarball's
`sha256sum` here, and update the paths in _config.yml (they name the version).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "_extra" / "vendor"
STAMP = ".vendored.json"


@dataclass(frozen=True)
class Package:
    name: str  # npm package name
    version: str
    sha256: str  # of the tarball that `npm pack` downloads
    include: tuple[str, ...]  # glob patterns of tarball paths (without the leading `package/`)
    exclude: tuple[str, ...] = field(default=())
    licence: str = ""  # what the licence is and where its text is, for README and the stamp

    @property
    def folder(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}"


PACKAGES = (
    Package(
        name="mathjax",
        version="3.2.2",
        sha256="1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09",
        # The combined component the site loads (tex-mml-chtml.js) plus every component it may
        # load later on demand: TeX extensions (autoload), the menu's accessibility tools and
        # speech maps, the SVG output if a reader switches renderer in the menu, the fonts.
        include=("LICENSE", "package.json", "es5/*"),
        # Other combined entry points the site never loads; latest.js would load from a CDN.
        exclude=(
            "es5/latest.js", "es5/node-main.js", "es5/mml-chtml.js", "es5/mml-svg.js",
            "es5/tex-chtml.js", "es5/tex-chtml-full.js", "es5/tex-chtml-full-speech.js",
            "es5/tex-svg.js", "es5/tex-svg-full.js", "es5/tex-mml-svg.js",
        ),
        licence="Apache-2.0 (LICENSE)",
    ),
    Package(
        name="requirejs",
        version="2.3.8",
        sha256="777158e89275e16bd51aec3ef714fbcb5dc45789e7078659933bc814916d7dec",
        include=("require.js", "package.json"),
        licence="MIT (header of require.js; package.json)",
    ),
    Package(
        name="@jupyter-widgets/html-manager",
        version="1.0.15",  # the html-manager of ipywidgets 8.1 (widget model versions 2.0.0)
        sha256="2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638",
        # embed-amd.js and the icon fonts its CSS refers to (relative to the script)
        include=("package.json", "dist/embed-amd.js", "dist/embed.js.LICENSE.txt",
                 "dist/*.woff2", "dist/*.woff", "dist/*.ttf", "dist/*.eot", "dist/*.svg"),
        licence="BSD-3-Clause (package.json); bundled libraries in dist/embed.js.LICENSE.txt",
    ),
)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wanted(package: Package, member: str) -> bool:
    return (any(fnmatch.fnmatchcase(member, pattern) for pattern in package.include)
            and not any(fnmatch.fnmatchcase(member, pattern) for pattern in package.exclude))


def is_current(package: Package, dest: Path) -> bool:
    stamp = dest / package.folder / STAMP
    if not stamp.is_file():
        return False
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    return recorded.get("sha256") == package.sha256 and recorded.get("include") == list(
        package.include) and recorded.get("exclude") == list(package.exclude)


def npm_pack(package: Package, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("make vendor needs npm to fetch the site's JavaScript from the npm registry: "
                 "install Node.js and npm (Debian: apt-get install npm)")
    spec = f"{package.name}@{package.version}"
    result = subprocess.run(
        [npm, "pack", spec, "--pack-destination", str(workdir), "--json", "--silent"],
        capture_output=True, text=True, cwd=workdir,
    )
    if result.returncode != 0:
        sys.exit(f"npm pack {spec} failed:\n{result.stderr.strip()}")
    tarballs = list(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        sys.exit(f"npm pack {spec}: expected one tarball, found {tarballs}")
    return tarballs[0]


def extract(package: Package, tarball: Path, target: Path) -> int:
    count = 0
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            relative = member.name.removeprefix("package/")
            if not wanted(package, relative):
                continue
            out = target / relative
            if target.resolve() not in out.resolve().parents:
                sys.exit(f"{package.name}: refusing to extract {member.name} outside {target}")
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, out.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            count += 1
    return count


def vendor(package: Package, dest: Path) -> None:
    spec = f"{package.name}@{package.version}"
    if is_current(package, dest):
        print(f"vendor: {spec} is up to date in {dest / package.folder}")
        return
    with tempfile.TemporaryDirectory(prefix="dlcourse-vendor-") as tmp:
        tarball = npm_pack(package, Path(tmp))
        actual = sha256(tarball)
        if actual != package.sha256:
            sys.exit(f"vendor: checksum mismatch for {spec}: expected sha256 {package.sha256}, "
                     f"got {actual}. Nothing was written.")
        staging = Path(tmp) / "staging"
        count = extract(package, tarball, staging)
        if count == 0:
            sys.exit(f"vendor: no file of {spec} matched {package.include}")
        stamp = {"package": package.name, "version": package.version, "sha256": actual,
                 "include": list(package.include), "exclude": list(package.exclude),
                 "licence": package.licence}
        (staging / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        target = dest / package.folder
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), target)
    print(f"vendor: {spec} (sha256 {actual[:12]}…) -> {target} ({count} files)")


# Files that name vendored folders (with their versions): they must name the pinned ones.
REFERRERS = ("_config.yml", "_extra/js/*.js")
_FOLDER = re.compile(r"vendor/([A-Za-z0-9._-]+?-[0-9][A-Za-z0-9._-]*)/")


def check_references(root: Path = ROOT) -> list[str]:
    """Vendored folders named in the configuration or our scripts that are not the pinned ones."""
    pinned = {package.folder for package in PACKAGES}
    problems = []
    for pattern in REFERRERS:
        for path in sorted(root.glob(pattern)):
            for folder in _FOLDER.findall(path.read_text(encoding="utf-8")):
                if folder not in pinned:
                    problems.append(f"{path.relative_to(root)} names vendor/{folder}/, but the "
                                    f"pinned folders are {sorted(pinned)} (tools/vendor.py)")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEST)
    args = parser.parse_args()
    problems = check_references()
    if problems:
        sys.exit("vendor: " + "\n        ".join(problems))
    wanted_folders = {package.folder for package in PACKAGES}
    for package in PACKAGES:
        vendor(package, args.dest)
    # Remove folders of versions no longer pinned, so the site does not ship them.
    if args.dest.is_dir():
        for stale in args.dest.iterdir():
            if stale.is_dir() and stale.name not in wanted_folders:
                shutil.rmtree(stale)
                print(f"vendor: removed {stale} (no longer pinned)")


if __name__ == "__main__":
    main()
