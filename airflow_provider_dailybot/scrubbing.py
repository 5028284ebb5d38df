"""The one scrubber: removes every registered secret, in every encoding, from text before it is shown.

The hook registers its API key (and any ``bearer`` it sends) the moment it reads them; every text
that reaches an exception, a log line or a connection-test message passes through :func:`scrub`
**before** it is cut to length, so a truncation can never leave a prefix of a secret behind. A text
that is itself a cut prefix of something longer (the first kilobytes of an error page) goes through
:func:`scrub` with ``truncated=True``, which also removes a partial secret at its very end.

Each secret is matched in the forms it takes when a server or a library echoes it: raw,
``repr()``/``ascii()`` escaped (once and twice), JSON-escaped, HTML-escaped, percent-encoded
(``quote`` and ``quote_plus``, in any case of hex digits) and base64 (standard and URL-safe). Matching
uses ``str.replace`` and ``str.find`` (the one regular expression, for ``%XX`` escapes, has no
alternatives to backtrack into), and every text scrubbed by :func:`cut` and :func:`scrub_prefix` is a
bounded window of its input, so scrubbing a page costs the same whatever its size.

Nothing here imports Airflow or the rest of the provider.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

#: What a secret is replaced with.
REDACTED = "***"
#: A partial secret at the end of a cut text is removed from this many characters on.
MIN_PARTIAL_CHARS = 3
#: Longest text :func:`scrub_value` keeps of one string, and most items of one container.
MAX_VALUE_CHARS = 1_000
MAX_VALUE_ITEMS = 100

_lock = threading.Lock()
_secrets: set[str] = set()
#: Every encoded form of every secret, longest first (an immutable snapshot, swapped under the lock).
_forms: tuple[str, ...] = ()
#: The percent-encoded forms with lower-case hex digits, matched against a text whose escapes are folded.
_hex_forms: tuple[str, ...] = ()
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def encoded_forms(secret: str) -> set[str]:
    """Return the forms ``secret`` takes when echoed by a server or embedded in a library's message.

    :param secret: The secret as configured.
    """
    forms = {secret}
    once = repr(secret)[1:-1]
    forms.update({once, repr(once)[1:-1], ascii(secret)[1:-1], secret.encode("unicode_escape").decode("ascii")})
    forms.update({json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]})
    forms.update({html.escape(secret), html.escape(secret, quote=False)})
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms.update({encoded, _lower_hex(encoded)})
    raw = secret.encode("utf-8", "surrogatepass")
    for b64 in (base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")):
        forms.update({b64, b64.rstrip("=")})
    return {form for form in forms if form}


def _lower_hex(encoded: str) -> str:
    parts = encoded.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def register_secret(secret: str | None) -> None:
    """Scrub ``secret`` (in every encoding) from every text that passes through this module from now on.

    :param secret: A secret; ``None`` and empty strings are ignored.
    """
    global _forms, _hex_forms
    if not secret or not isinstance(secret, str):
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.add(secret)
        forms = set(_forms)
        forms.update(encoded_forms(secret))
        _forms = tuple(sorted(forms, key=lambda form: (-len(form), form)))
        hex_forms = {_lower_hex(form) for form in forms if _PERCENT_ESCAPE.search(form)}
        _hex_forms = tuple(sorted(hex_forms, key=lambda form: (-len(form), form)))


def protect(secret: str) -> list[str]:
    """Register ``secret`` (and its stripped form) and return its forms, for Airflow's secrets masker.

    :param secret: An API key or a bearer, as configured.
    """
    register_secret(secret)
    register_secret(secret.strip())
    return sorted((encoded_forms(secret) | {secret.strip()}) - {""})


def secret_forms() -> tuple[str, ...]:
    """Return the encoded forms currently scrubbed, longest first."""
    return _forms


def scrub(text: str, *, truncated: bool = False) -> str:
    """Return ``text`` with every registered secret replaced by ``***``.

    :param text: Any text about to be shown (an error detail, a log argument, an exception's message).
    :param truncated: ``text`` is a cut prefix of something longer: also replace a partial secret
        (at least :data:`MIN_PARTIAL_CHARS` characters of one) that ends the text.
    """
    forms = _forms
    if not forms or not text:
        return text
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    if "%" in text and _hex_forms:
        text = _scrub_mixed_case_escapes(text, _hex_forms)
    if truncated:
        text = _drop_partial_tail(text, forms + _hex_forms)
    return text


def _scrub_mixed_case_escapes(text: str, hex_forms: tuple[str, ...]) -> str:
    """Replace percent-encoded forms whatever the case of their hex digits (``%2f``, ``%2F``, mixed)."""
    folded = _PERCENT_ESCAPE.sub(lambda match: match.group(0).lower(), text)  # same length as text
    for form in hex_forms:
        index = folded.find(form)
        if index < 0:
            continue
        text_parts: list[str] = []
        folded_parts: list[str] = []
        position = 0
        while index >= 0:
            text_parts += [text[position:index], REDACTED]
            folded_parts += [folded[position:index], REDACTED]
            position = index + len(form)
            index = folded.find(form, position)
        text = "".join([*text_parts, text[position:]])
        folded = "".join([*folded_parts, folded[position:]])
    return text


def scrub_prefix(text: str, limit: int) -> tuple[str, bool]:
    """Scrub the first ``limit`` characters of ``text`` and return them with whether text was cut.

    The window scrubbed reaches past ``limit`` by the longest secret form, so a secret straddling
    the cut is still found whole; the work is linear in ``limit``, not in ``len(text)``.

    :param text: A possibly huge text (an error page).
    :param limit: Characters to keep.
    """
    if len(text) <= limit:
        return scrub(text), False
    longest = len(_forms[0]) if _forms else 0
    window = scrub(text[: limit + longest])
    return scrub(window[:limit], truncated=True), True


def cut(text: str, limit: int) -> str:
    """Scrub ``text``, then cut it to ``limit`` characters (ending in ``…`` when cut).

    Only a window of a few times ``limit`` is scrubbed, so a huge text costs no more than a short one.

    :param text: The text.
    :param limit: Longest result, the ellipsis included.
    """
    window, truncated = scrub_prefix(text, 4 * max(0, limit) + 64)
    if not truncated and len(window) <= limit:
        return window
    return scrub(window[: max(0, limit - 1)], truncated=True) + "…"


def scrub_value(value: Any, *, depth: int = 4) -> Any:
    """Return a bounded copy of a JSON-like value with every string scrubbed and cut.

    For attributes that keep part of a server's answer (``extra``, ``field_errors``): at most
    :data:`MAX_VALUE_ITEMS` items per container, :data:`MAX_VALUE_CHARS` characters per string,
    ``depth`` levels.

    :param value: A decoded JSON value.
    :param depth: Containers nested deeper are replaced by ``"…"``.
    """
    if isinstance(value, str):
        return cut(value, MAX_VALUE_CHARS)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth <= 0:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:MAX_VALUE_ITEMS]
        return {cut(str(k), 200): scrub_value(v, depth=depth - 1) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v, depth=depth - 1) for v in list(value)[:MAX_VALUE_ITEMS]]
    return cut(str(value), MAX_VALUE_CHARS)


def _drop_partial_tail(text: str, forms: Iterable[str]) -> str:
    """Replace the longest tail of ``text`` that is a prefix (≥ MIN_PARTIAL_CHARS) of some form."""
    best = len(text)
    for form in forms:
        first = form[0]
        start = max(0, len(text) - len(form) + 1)
        index = text.find(first, start)
        while index != -1 and index < best:
            if len(text) - index >= MIN_PARTIAL_CHARS and form.startswith(text[index:]):
                best = index
                break
            index = text.find(first, index + 1)
    return text if best == len(text) else text[:best] + REDACTED
