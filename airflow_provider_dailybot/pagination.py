"""Which ``next`` link a list may follow: same origin, inside the base path however the server reads it.

Every page carries the API key, so :func:`resolve_next` lets the hook follow a link only when it
stays on the connection's scheme, host and port **and** under its base path (``/v1/``) after
normalisation: ``.`` and ``..`` segments (also percent-encoded, ``%2e%2e``, or with a ``;``
parameter), empty segments (``//``), backslashes, and percent-encoded slashes are resolved the way a
lenient server might, up to three rounds of percent-decoding. The request is then sent to the
normalised path, so the server is asked for exactly the path that was checked. Nothing here does
I/O or imports Airflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urljoin, urlsplit

from airflow_provider_dailybot.resources import same_origin

#: Longest ``next`` link followed.
MAX_LINK_CHARS = 8_192


class LinkRefused(ValueError):
    """A ``next`` link the hook must not follow; the message says why."""


def _is_dot_segment(segment: str) -> str | None:
    """Return ``"."`` or ``".."`` when a path segment means one (percent-encoded dots, ``;`` params included)."""
    name = segment.split(";", 1)[0].replace("%2e", ".").replace("%2E", ".")
    return name if name in (".", "..") else None


def normalise_path(path: str) -> str:
    """Resolve dot segments and collapse empty ones (RFC 3986 §5.2.4, leniently), keeping a final slash.

    :param path: An absolute URL path, e.g. ``"/v1/users/../teams/"``.
    """
    output: list[str] = []
    trailing_slash = False
    for segment in path.split("/"):
        dot = _is_dot_segment(segment)
        if dot == "..":
            if output:
                output.pop()
            trailing_slash = True
        elif dot == "." or segment == "":
            trailing_slash = True
        else:
            output.append(segment)
            trailing_slash = False
    return "/" + "/".join(output) + ("/" if trailing_slash and output else "")


def _readings(path: str) -> list[str]:
    """The path as a lenient server might read it: as sent, and after up to three rounds of decoding."""
    readings = [path]
    current = path
    for _ in range(3):
        decoded = unquote(current)
        if decoded == current:
            break
        readings.append(decoded)
        current = decoded
    return [reading.replace("\\", "/") for reading in readings]


def within(path: str, base_path: str) -> bool:
    """Return True when every reading of ``path`` stays under ``base_path`` once normalised.

    :param path: A URL path from a link.
    :param base_path: The connection's base path, ending in ``/`` (``"/v1/"``).
    """
    return all(normalise_path(reading).startswith(base_path) for reading in _readings(path))


def resolve_next(current_url: str, next_url: str, base_url: str) -> tuple[str, str, dict[str, Any]]:
    """Check a page's ``next`` link and return ``(absolute_url, path_relative_to_base, params)`` to request.

    :param current_url: URL of the page that carried the link (relative links resolve against it).
    :param next_url: The ``next`` value.
    :param base_url: The connection's base URL (``https://api.dailybot.com/v1/``).
    :raises LinkRefused: For a link to another origin, outside the base path, or unreasonably long.
    """
    if len(next_url) > MAX_LINK_CHARS:
        raise LinkRefused(f"refused to follow a 'next' link of {len(next_url)} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in next_url):
        raise LinkRefused("refused to follow a 'next' link with control characters")
    absolute = urljoin(current_url, next_url.strip())
    parts = urlsplit(absolute)
    if not same_origin(absolute, base_url):
        raise LinkRefused(
            f"refused to follow a 'next' link to another origin ({parts.scheme}://{parts.netloc}); "
            "the API key is only sent to the connection's base URL"
        )
    base_path = urlsplit(base_url).path
    if not within(parts.path, base_path):
        raise LinkRefused(f"refused to follow a 'next' link outside {base_path}")
    path = normalise_path(parts.path)
    params = query_params(parts.query)
    return base_url + path[len(base_path) :], path[len(base_path) :], params


def query_params(query: str) -> dict[str, Any]:
    """Decode a query string into request parameters (a repeated key becomes a list).

    :param query: The query string, without ``?``.
    """
    params: dict[str, Any] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        params[key] = values[0] if len(values) == 1 else values
    return params


def page_key(path: str, params: dict[str, Any] | None) -> str:
    """A canonical key of one page request, to detect ``next`` links that loop.

    :param path: The normalised URL path.
    :param params: Its query parameters.
    """
    pairs = sorted((str(k), str(v)) for k, v in (params or {}).items())
    return path + "?" + urlencode(pairs)


#: ``fetch(path, params) -> (items, next_url)``: one page, as the hook's request returns it.
PageFetcher = Callable[[str, "dict[str, Any] | None"], "tuple[list[Any], str | None]"]


class PaginationRefused(ValueError):
    """A list cannot be read to its end: a refused link, a loop or too many pages.

    :param path: The URL path of the page whose ``next`` link was refused.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(detail)
        self.path = path


def walk(
    fetch: PageFetcher, path: str, params: dict[str, Any] | None, *, base_url: str, max_pages: int
) -> Iterator[Any]:
    """Yield every item of a list, page after page, following only safe ``next`` links.

    A link refused by :func:`resolve_next`, a page seen before (a loop) or more than ``max_pages``
    pages raise :class:`PaginationRefused` instead of ending with a partial list. Nothing is
    fetched until the first item is requested.

    :param fetch: Reads one page (relative path and query) and returns its items and ``next`` link.
    :param path: Path of the first page, relative to ``base_url``.
    :param params: Query parameters of the first page (later pages use the link's own).
    :param base_url: The connection's API base URL.
    :param max_pages: Most pages read.
    """
    current_path, current_params = path.lstrip("/"), params
    current_url = base_url + current_path
    seen = {page_key(urlsplit(current_url).path, params)}
    for _ in range(max_pages):
        items, next_url = fetch(current_path, current_params)
        url_path = urlsplit(current_url).path
        yield from items
        if next_url is None:
            return
        try:
            current_url, current_path, current_params = resolve_next(current_url, next_url, base_url)
        except LinkRefused as err:
            raise PaginationRefused(url_path, str(err)) from None
        key = page_key(urlsplit(current_url).path, current_params)
        if key in seen:
            raise PaginationRefused(url_path, f"the 'next' links loop back to {key}")
        seen.add(key)
    raise PaginationRefused(urlsplit(current_url).path, f"more than {max_pages} pages (max_pages); giving up")
