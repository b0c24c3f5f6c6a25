"""The one check every URL or ``host:port`` a user gives kuaidi goes through.

Flags (``--endpoint``, ``--proxy``, ``--origin``, ``--modelscope-endpoint``, ``--origin-host``),
variables (``HF_ENDPOINT``, ``https_proxy``/``HTTPS_PROXY``, ``no_proxy``, …) and platform files
(``/etc/network_turbo``) all reach the same parsers: urllib's ``urlsplit`` (used across kuaidi
for host and port) and httpx (which sends the requests). Each raises its own ``ValueError``
(``Invalid IPv6 URL``, ``Port out of range``, an IDNA error …) at some later, arbitrary point.
Checking a value here, once, with both, turns that into one line naming where the value came
from::

    >>> parse_url("https://hf-mirror.com", what="--endpoint")
    URL('https://hf-mirror.com')
    >>> parse_url("http://[::1", what="endpoint", source="HF_ENDPOINT")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    kuaidi.errors.UsageError: bad endpoint 'http://[::1' (from HF_ENDPOINT): Invalid IPv6 URL ...

Credentials in a value are never echoed: ``http://user:***@host``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypedDict, overload
from urllib.parse import SplitResult, urlsplit

import httpx

from kuaidi.errors import UsageError

if TYPE_CHECKING:
    from typing import Unpack  # 3.11+; only read by type checkers here

WEB = ("http", "https")
PROXY = ("http", "https", "socks5", "socks5h")
_USERINFO = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")
# the whole user part of any URL in a text (a git URL's user name may itself be a token)
_CREDENTIALS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


@overload
def redact(value: str, *, keep_user: bool = True) -> str: ...
@overload
def redact(value: None, *, keep_user: bool = True) -> None: ...
def redact(value: str | None, *, keep_user: bool = True) -> str | None:
    """``value`` with the password of every URL in it replaced by ``***`` — works on malformed
    URLs too; ``keep_user=False`` hides the whole ``user:password@`` (doctor's reports).

    >>> redact("http://bob:s3cret@[::1")
    'http://bob:***@[::1'
    >>> redact("proxy=http://bob:s3cret@10.0.0.1:3128", keep_user=False)
    'proxy=http://***@10.0.0.1:3128'
    """
    if not value:
        return value
    if keep_user:
        return _USERINFO.sub(r"\1:***@", value)
    return _CREDENTIALS.sub(r"\1***@", value)


def url_problem(
    text: str, schemes: tuple[str, ...] = WEB, *, need_port: bool = False
) -> str | None:
    """Why ``text`` is not a usable URL for kuaidi (None when it is).

    Usable means: one of ``schemes``, a host, a port in 1–65535 (required when ``need_port``),
    no blanks or control characters, and both urllib and httpx read it the same way.
    """
    if not text:
        return "it is empty"
    if any(c.isspace() or not c.isprintable() for c in text):
        return "it contains a blank or control character"
    try:
        parts: SplitResult = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", …
        return str(exc)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return f"the scheme must be {' or '.join(s + '://' for s in schemes)}"
    if not host:
        return "it has no host"
    if port == 0 or (need_port and port is None):
        return "it has no port" if port is None else "port 0 is not a port"
    try:
        parsed_host = httpx.URL(text).host  # .host decodes IDNA: "xn--" junk fails here
    except (httpx.InvalidURL, ValueError) as exc:  # IDNA errors are ValueErrors
        return str(exc) or type(exc).__name__
    if host.isascii() and parsed_host.lower().strip("[]") != host.lower().strip("[]"):
        # urllib and httpx would connect to different hosts: trust neither
        return "its host is ambiguous"
    return None


def check_url(
    value: str,
    *,
    what: str,
    source: str | None = None,
    schemes: tuple[str, ...] = WEB,
    need_port: bool = False,
    example: str = "https://hf-mirror.com",
    fix: str | None = None,
    error: type[UsageError] = UsageError,
) -> str:
    """``value`` stripped, once it is a usable URL; else ``error`` naming ``what`` and the value.

    ``what`` names the value (``endpoint``, ``HF_ENDPOINT``); ``source``, when given, where it
    came from (``--endpoint``, ``/etc/network_turbo:2``). ``error`` may be
    :class:`~kuaidi.errors.ConfigError` for a file.
    """
    text = value.strip()
    reason = url_problem(text, schemes, need_port=need_port)
    if reason is not None:
        shown = redact(text)[:200]
        origin = f" (from {source})" if source else ""
        raise error(
            f"bad {what} {shown!r}{origin}: {reason}",
            fix=fix or f"give {source or what} as a URL like {example}",
        )
    return text


class CheckOptions(TypedDict, total=False):
    """The optional keywords of :func:`check_url`, passed through by :func:`parse_url`."""

    source: str | None
    schemes: tuple[str, ...]
    need_port: bool
    example: str
    fix: str | None
    error: type[UsageError]


def parse_url(value: str, *, what: str, **kw: Unpack[CheckOptions]) -> httpx.URL:
    """:func:`check_url`, as an ``httpx.URL``."""
    return httpx.URL(check_url(value, what=what, **kw))


def check_hostport(value: str, *, what: str, default_scheme: str = "http") -> str:
    """A ``host:port`` or URL naming a host (``--origin-host``); returned as given, stripped."""
    text = value.strip()
    reason = url_problem(text if "://" in text else f"{default_scheme}://{text}")
    if reason is not None:
        raise UsageError(
            f"bad {what} {redact(text)[:200]!r}: {reason}",
            fix=f"give {what} as HOST:PORT, e.g. cdn.example.com:443",
        )
    return text
