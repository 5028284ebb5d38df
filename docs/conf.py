"""Sphinx configuration of the airflow-provider-dailybot documentation (``make docs``).

The build needs no network: no intersphinx inventories are fetched, and the third-party types that
the docstrings name (Airflow, requests, SQLAlchemy, ...) are listed in ``nitpick_ignore_regex``
instead of being resolved. ``make docs`` runs ``sphinx-build -W --keep-going -n``: every warning,
an unresolved internal reference or a page missing from every toctree included, fails the build.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sphinx.util.nodes import make_refnode

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))  # the package of this checkout, not an installed copy

from airflow_provider_dailybot import __version__  # noqa: E402

project = "airflow-provider-dailybot"
author = "airflow-provider-dailybot maintainers"
copyright = "airflow-provider-dailybot maintainers"
release = __version__
version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
# Every page must be in a toctree: Sphinx's "document isn't included in any toctree" is a warning,
# and -W makes it an error. No page is marked :orphan:.

# MyST: the changelog page includes ../CHANGELOG.md; headings get anchors for #links.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# autodoc: docstrings are Sphinx-style (:param x:, :returns:, :raises:).
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# undoc-members: the module constants the docstrings refer to (:data:`OUTCOMES`) get a target too;
# ignore-module-all: a name re-exported through __all__ is documented once, where it is defined.
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_class_signature = "separated"

nitpicky = True
# Types from other projects: without intersphinx (no network at build time) they cannot resolve.
# Our own names are NOT listed: a broken reference to the provider's API fails the build.
_THIRD_PARTY = (
    r"airflow|requests|urllib3|sqlalchemy|alembic|fastapi|starlette|pendulum|jinja2|pydantic|tenacity"
    r"|pytest|_pytest|http|socketserver|ssl|socket|asyncio|concurrent|collections|datetime|pathlib|os"
    r"|subprocess|logging|typing|typing_extensions|types|io|enum|uuid|json|re|threading|contextlib|abc"
    r"|email|argparse|decimal|hashlib|hmac|ipaddress|queue|selectors|signal|tempfile|weakref|functools"
    r"|urllib|sa|Session|Request|Response|Context|Asset|PokeReturnValue|BaseOperator|TaskGroup"
    r"|openlineage|Dataset|OperatorLineage|BaseOperatorLink|TaskInstanceKey"
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({_THIRD_PARTY})(\..*)?"),
    # type variables and aliases that autodoc renders by their bare name
    (r"py:.*", r"(T|P|R|K|V|JSON|Json.*|Callable.*|Self|NoneType|ellipsis)"),
    # type variables (rendered with their module's path) and private helpers (not part of the API)
    (r"py:.*", r"airflow_provider_dailybot(\.\w+)*\.(_\w+|[A-Z])"),
    (r"py:mod", r"__main__"),
    # the fields of FastAPI's Depends(...) as autodoc prints an Annotated[..., Depends(...)] parameter
    (r"py:class", r"(dependency|use_cache|scope)=.*"),
]
PACKAGE = "airflow_provider_dailybot"


def _resolve_short_name(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a short reference (``:class:`FakeDailyBotServer``` in another module) inside the package.

    Sphinx looks a short name up only in the referring module and at the top level. This finds the
    objects of the package whose dotted name ends with it and, when the one sharing the longest
    prefix with the referring module/class is unique, links to it; otherwise the reference stays
    unresolved and nitpicky mode reports it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    domain = env.get_domain("py")
    candidates = [name for name in domain.objects if name.startswith(PACKAGE) and name.endswith("." + target)]
    context = ".".join(filter(None, [node.get("py:module"), node.get("py:class")]))

    def shared(name: str) -> int:
        """Count the leading dotted parts ``name`` shares with the referring context."""
        count = 0
        for mine, theirs in zip(name.split("."), context.split("."), strict=False):
            if mine != theirs:
                break
            count += 1
        return count

    def unique_best(names: list[str]) -> str | None:
        if not names:
            return None
        best = max(shared(name) for name in names)
        chosen = [name for name in names if shared(name) == best]
        return chosen[0] if len(chosen) == 1 else None

    name = unique_best(candidates)
    if name is not None:
        obj = domain.objects[name]
        return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)
    # A name autodoc gives no entry of its own (a constant without a ``#:`` comment, a private
    # function): link to the documented module that defines it.
    module_name = unique_best([m for m in domain.modules if m.startswith(PACKAGE) and _defines(m, target)])
    if module_name is None:
        return None
    entry = domain.modules[module_name]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, module_name)


def _defines(module_name: str, target: str) -> bool:
    """Tell whether ``target`` (``NAME`` or ``submodule.NAME``) names an attribute of ``module_name``."""
    module = sys.modules.get(module_name)
    parts = target.split(".")
    for start in range(len(parts)):
        prefix = ".".join(parts[:start])
        if start and not module_name.endswith("." + prefix):
            continue
        obj: Any = module
        for part in parts[start:]:
            obj = getattr(obj, part, None)
            if obj is None:
                break
        else:
            return True
    return False


def setup(app: Any) -> dict[str, Any]:
    """Register the short-name resolver."""
    app.connect("missing-reference", _resolve_short_name)
    return {"parallel_read_safe": True}


html_theme = "furo"
html_title = f"airflow-provider-dailybot {release}"
html_static_path: list[str] = []
html_theme_options = {
    "source_repository": "https://github.com/dailybot-community/airflow-provider-dailybot/",
    "source_branch": "main",
    "source_directory": "docs/",
}
