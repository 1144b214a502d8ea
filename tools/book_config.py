"""Write a copy of _config.yml with another notebook-execution mode.

The learner's `make book` executes notebooks with the cache (fast rebuilds); `make test` and CI
build with ``--execute force`` so that every notebook runs afresh. Keeping one _config.yml and
deriving the strict one avoids two configurations drifting apart.
"""

import argparse
import os
from pathlib import Path

import yaml

MODES = ("auto", "cache", "force", "inline", "off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--execute", choices=MODES, required=True)
    parser.add_argument("--source", default="_config.yml")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    source, output = Path(args.source).resolve(), Path(args.output).resolve()
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    execute = config.setdefault("execute", {})
    execute["execute_notebooks"] = args.execute
    # jupyter-book finds local extensions relative to the configuration file: keep them found.
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in extensions.items():
        extensions[name] = os.path.relpath(source.parent / path, output.parent)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                      encoding="utf-8")


if __name__ == "__main__":
    main()
