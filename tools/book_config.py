"""Write a copy of _config.yml with another notebook-execution mode, and optionally a JupyterHub.

The learner's `make book` executes notebooks with the cache (fast rebuilds); `make test` and CI
build with ``--execute force`` so that every notebook runs afresh. Keeping one _config.yml and
deriving the others avoids configurations drifting apart.

``--jupyterhub-url https://hub.example.edu`` adds the JupyterHub launch button to every chapter
(``make book JUPYTERHUB_URL=https://hub.example.edu``): the project has no hub of its own, but a
teacher's hub opens the chapter's notebook from the repository with nbgitpuller.
"""

import argparse
import os
from pathlib import Path
from urllib.parse import urlsplit

import yaml

MODES = ("auto", "cache", "force", "inline", "off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--execute", choices=MODES, required=True)
    parser.add_argument("--source", default="_config.yml")
    parser.add_argument("--output", required=True)
    parser.add_argument("--jupyterhub-url", default="",
                        help="a JupyterHub's address, e.g. https://hub.example.edu (empty: keep "
                             "_config.yml's launch_buttons.jupyterhub_url)")
    args = parser.parse_args()
    hub = args.jupyterhub_url.strip()
    if hub:
        parts = urlsplit(hub)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            parser.error("--jupyterhub-url: expected the address of a JupyterHub, such as "
                         f"https://hub.example.edu, got {args.jupyterhub_url!r}")

    source, output = Path(args.source).resolve(), Path(args.output).resolve()
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    execute = config.setdefault("execute", {})
    execute["execute_notebooks"] = args.execute
    if hub:
        # the theme appends /hub/user-redirect/git-pull?... to it
        config.setdefault("launch_buttons", {})["jupyterhub_url"] = hub.rstrip("/")
    # jupyter-book finds local extensions relative to the configuration file: keep them found.
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in extensions.items():
        extensions[name] = os.path.relpath(source.parent / path, output.parent)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                      encoding="utf-8")


if __name__ == "__main__":
    main()
