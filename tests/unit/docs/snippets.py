"""Read the documentation's sources: runnable code blocks, toctrees, and ``docs/...`` paths in the repository.

The convention for a runnable block, in reStructuredText::

    .. code-block:: python
       :class: runnable

and in MyST Markdown (a fenced directive with the same option)::

    ```{code-block} python
    :class: runnable
    ```

Plain text scanning, no Sphinx: the test of the blocks must not depend on the docs build.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCS = REPO_ROOT / "docs"
RUNNABLE = "runnable"

_RST_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. (?:code-block|code|sourcecode)::\s*(?P<lang>\S*)\s*$")
_RST_OPTION = re.compile(r"^\s*:(?P<name>[\w-]+):\s*(?P<value>.*)$")
_MD_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\{(?:code-block|code|sourcecode)\}\s*(?P<lang>\S*)\s*$")
_RST_TOCTREE = re.compile(r"^(?P<indent>\s*)\.\. toctree::\s*$")
_MD_TOCTREE = re.compile(r"^(?P<fence>`{3,}|~{3,})\{toctree\}\s*$")
#: A path to a page of the docs as other files mention it (``docs/<name>.md`` or ``docs/<dir>/<name>.rst``).
DOC_PATH = re.compile(r"(?<![\w/.-])docs/[\w./-]*?\.(?:md|rst)\b")
#: A link to a file of this repository's main branch (the README's links and images, for PyPI).
REPO_URL = re.compile(
    r"https://(?:github\.com/dailybot-community/airflow-provider-dailybot/(?:blob|tree)/main"
    r"|raw\.githubusercontent\.com/dailybot-community/airflow-provider-dailybot/main)/(?P<path>[\w./-]+[\w/])"
)


@dataclass(frozen=True)
class CodeBlock:
    """One code block of a page: where it starts, its language, its classes and its code (dedented)."""

    path: Path
    line: int
    language: str
    classes: tuple[str, ...]
    code: str

    @property
    def runnable(self) -> bool:
        """Tell whether the block is marked to be executed by the doc test."""
        return RUNNABLE in self.classes

    @property
    def where(self) -> str:
        """``docs/hook.rst:12``: the block's place, for test ids and messages."""
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def doc_sources() -> list[Path]:
    """Every page source of the site (``.rst`` and ``.md`` under ``docs/``, the build output excluded)."""
    return sorted(
        path
        for path in DOCS.rglob("*")
        if path.suffix in {".rst", ".md"} and "_build" not in path.relative_to(DOCS).parts
    )


def _classes(options: dict[str, str]) -> tuple[str, ...]:
    return tuple(options.get("class", "").split())


def _rst_blocks(path: Path, lines: list[str]) -> Iterator[CodeBlock]:
    i = 0
    while i < len(lines):
        match = _RST_DIRECTIVE.match(lines[i])
        if not match:
            i += 1
            continue
        start, indent = i + 1, len(match["indent"])
        options: dict[str, str] = {}
        i += 1
        while i < len(lines) and (option := _RST_OPTION.match(lines[i])) and lines[i].strip():
            options[option["name"]] = option["value"].strip()
            i += 1
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        yield CodeBlock(path, start, match["lang"], _classes(options), textwrap.dedent("\n".join(body)).strip() + "\n")


def _md_blocks(path: Path, lines: list[str]) -> Iterator[CodeBlock]:
    i = 0
    while i < len(lines):
        match = _MD_FENCE.match(lines[i].strip())
        if not match:
            i += 1
            continue
        start, fence = i + 1, match["fence"]
        options: dict[str, str] = {}
        i += 1
        while i < len(lines) and (option := _RST_OPTION.match(lines[i])):
            options[option["name"]] = option["value"].strip()
            i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        i += 1
        yield CodeBlock(path, start, match["lang"], _classes(options), textwrap.dedent("\n".join(body)).strip() + "\n")


def code_blocks(path: Path) -> list[CodeBlock]:
    """Every ``code-block`` directive of one page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return list(_md_blocks(path, lines) if path.suffix == ".md" else _rst_blocks(path, lines))


def runnable_blocks() -> list[CodeBlock]:
    """Every block of the site marked ``:class: runnable``."""
    return [block for path in doc_sources() for block in code_blocks(path) if block.runnable]


def toctree_entries(path: Path) -> list[str]:
    """The documents one page's toctrees list, as docnames relative to ``docs/`` (``api/index``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    base = path.parent.relative_to(DOCS)
    entries: list[str] = []
    i = 0
    while i < len(lines):
        rst, md = _RST_TOCTREE.match(lines[i]), _MD_TOCTREE.match(lines[i].strip())
        i += 1
        if not (rst or md):
            continue
        while i < len(lines):
            line = lines[i].strip()
            if md and line == md["fence"]:
                break
            if rst and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= len(rst["indent"]):
                break
            i += 1
            if not line or line.startswith(":"):
                continue
            target = re.sub(r"^.*<(.+)>$", r"\1", line)  # "Title <page>"
            entries.append(str((base / target).as_posix()).removeprefix("./"))
    return entries


def docname(path: Path) -> str:
    """``docs/api/index.rst`` → ``api/index``."""
    return path.relative_to(DOCS).with_suffix("").as_posix()


def reachable_from_index() -> set[str]:
    """The docnames reachable from ``docs/index.rst`` through toctrees."""
    sources = {docname(path): path for path in doc_sources()}
    seen: set[str] = set()
    todo = ["index"]
    while todo:
        name = todo.pop()
        if name in seen or name not in sources:
            continue
        seen.add(name)
        todo.extend(toctree_entries(sources[name]))
    return seen


_SKIP_DIRS = {
    ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "__pycache__",
    "_build", "node_modules", "test-output", "demo-home", "dist", "build", "results",
}  # fmt: skip
_TEXT_SUFFIXES = {".py", ".mk", ".md", ".rst", ".toml", ".yaml", ".yml", ".txt", ".cfg", ".ini", ".sh", ".example"}
_TEXT_NAMES = {"Makefile", "Dockerfile", "run"}


def repository_text_files() -> Iterator[Path]:
    """The repository's own text files (no venv, build output, results, caches or VCS data)."""
    for folder, dirs, files in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".venv")]
        for name in files:
            path = Path(folder, name)
            if path.suffix in _TEXT_SUFFIXES or name in _TEXT_NAMES:
                yield path


def _mentions(pattern: re.Pattern[str], group: int | str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in repository_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                found.setdefault(match.group(group), []).append(f"{path.relative_to(REPO_ROOT)}:{number}")
    return found


def mentioned_doc_paths() -> dict[str, list[str]]:
    """Every path of a page under ``docs/`` (``.md`` or ``.rst``) mentioned in the repository → where."""
    return _mentions(DOC_PATH, 0)


def linked_repository_paths() -> dict[str, list[str]]:
    """Every repository path linked by an absolute URL of the main branch → where."""
    return _mentions(REPO_URL, "path")
