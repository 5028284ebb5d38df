"""Check a release tag against the package version and the changelog, before anything is published.

Usage::

    python scripts/check_release_version.py v0.1.0
    GITHUB_REF_NAME=v0.1.0 python scripts/check_release_version.py   # in a CI job started by the tag

The tag must be ``v<version>`` where ``<version>`` is ``__version__`` of
``airflow_provider_dailybot/__init__.py`` (the file hatchling reads the version from; read here without
importing the package, so the check runs before any install), and ``CHANGELOG.md`` must have a
``## <version>`` section that is not marked unreleased. Exit status 0 when all hold; 1 with one line per
problem on stderr when not; 2 for a usage error (no tag given).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = Path("airflow_provider_dailybot", "__init__.py")
CHANGELOG = Path("CHANGELOG.md")
TAG_ENV = "GITHUB_REF_NAME"
#: A changelog section heading: ``## 0.1.0``, ``## 0.1.0 (2026-12-02)``, ``## [0.1.0] - 2026-12-02``, ``## v0.1.0``.
_HEADING = re.compile(r"^##\s+\[?v?(?P<version>[^\s\]]+)\]?(?P<rest>.*)$")


def package_version(root: Path) -> str:
    """The ``__version__`` string literal assigned in the package's ``__init__.py`` under ``root``.

    :param root: The repository (or unpacked sdist) root.
    :raises ValueError: The file assigns no string literal to ``__version__``.
    """
    tree = ast.parse((root / VERSION_FILE).read_text(encoding="utf-8"))
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        named = any(isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets)
        if named and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node.value.value
    raise ValueError(f"{VERSION_FILE} assigns no string literal to __version__")


def changelog_problem(text: str, version: str) -> str | None:
    """Say what is wrong with the changelog's section for ``version``, or ``None`` when it is there.

    :param text: The changelog (Markdown).
    :param version: The version being released.
    """
    for line in text.splitlines():
        match = _HEADING.match(line.strip())
        if match and match.group("version") == version:
            if "unreleased" in match.group("rest").lower():
                return (
                    f"{CHANGELOG}: the section '{line.strip()}' is still marked unreleased; "
                    "give it its release date before tagging"
                )
            return None
    return f"{CHANGELOG} has no '## {version}' section; add one with the release's changes before tagging"


def problems(tag: str, root: Path = ROOT) -> list[str]:
    """Every reason the tag ``tag`` cannot be released from ``root``; empty when it can.

    :param tag: The git tag, e.g. ``v0.1.0`` (a ``refs/tags/`` prefix is accepted).
    :param root: The repository root holding the package and ``CHANGELOG.md``.
    """
    tag = tag.strip().removeprefix("refs/tags/")
    try:
        version = package_version(root)
    except (OSError, SyntaxError, ValueError) as err:
        return [f"cannot read the package version from {VERSION_FILE}: {err}"]
    found: list[str] = []
    if tag != f"v{version}":
        found.append(
            f"tag {tag!r} does not match the package version {version!r} ({VERSION_FILE}): "
            f"the tag must be 'v{version}', or change __version__ to match the tag"
        )
    try:
        text = (root / CHANGELOG).read_text(encoding="utf-8")
    except OSError as err:
        found.append(f"cannot read {CHANGELOG}: {err}")
    else:
        problem = changelog_problem(text, version)
        if problem:
            found.append(problem)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Check the tag given in ``argv`` (else ``$GITHUB_REF_NAME``); print the problems; return the exit status.

    :param argv: Command-line arguments without the program name; defaults to ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(
        prog="check_release_version.py",
        description="Check that a release tag v<version> matches the package version and the changelog.",
    )
    parser.add_argument("tag", nargs="?", help=f"the release tag, e.g. v0.1.0 (default: ${TAG_ENV})")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this script's repository)")
    args = parser.parse_args(argv)
    tag = args.tag or os.environ.get(TAG_ENV, "")
    if not tag.strip():
        parser.error(f"give the release tag, or set {TAG_ENV}")
    found = problems(tag, args.root)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if not found:
        print(f"{tag.strip().removeprefix('refs/tags/')}: matches the package version and has a changelog section")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
