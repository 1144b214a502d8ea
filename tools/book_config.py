"""Write a copy of _config.yml with another notebook-execution mode.

The learner's `make book` executes notebooks with the cache (fast rebuilds); `make test` and CI
build with ``--execute force`` so that every notebook runs afresh. Keeping one _config.yml and
deriving the strict one avoids two configurations drifting apart.
"""

import argparse
from pathlib import Path

import yaml

MODES = ("auto", "cache", "force", "inline", "off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--execute", choices=MODES, required=True)
    parser.add_argument("--source", default="_config.yml")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    config = yaml.safe_load(Path(args.source).read_text(encoding="utf-8"))
    execute = config.setdefault("execute", {})
    execute["execute_notebooks"] = args.execute
    Path(args.output).write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                                 encoding="utf-8")


if __name__ == "__main__":
    main()
