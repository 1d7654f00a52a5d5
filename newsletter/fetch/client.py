"""Fetch one URL the way a tool on an editor's laptop should: boundedly, and never inwards.

A URL pasted into ``newsletter teasers add`` is untrusted input, and the laptop that runs it
sits inside a newsroom network. So every hop of a fetch is vetted before anything connects:

- only ``http`` and ``https``, and no user name or password in the URL;
- the host is resolved here (``getaddrinfo``) and every address it resolves to must be public
  (not private, loopback, link-local, multicast, reserved ...) unless ``host[:port]`` is
  allowed explicitly; the request then goes to exactly the address that was checked, with the
  ``Host`` header and the TLS server name (SNI, certificate check) of the real host, so a DNS
  answer that changes between the check and the connection (DNS rebinding) cannot slip through;
- redirects are followed by hand, at most ``max_redirects`` of them, each hop vetted again; a
  page that redirects to another site or to a login or subscription page is refused, since the
  article the editor meant is not what would be read;
- a connect timeout, and a total one checked between reads; a body limit enforced while
  streaming (on the decoded bytes, so a compressed bomb stops too); a Content-Type check;
- no proxy from the environment (it would connect where the check did not look), no
  connection reused between hops, nothing kept from one fetch to the next.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import certifi
import httpx

from newsletter.model.settings import FetchSettings

__all__ = [
    "HTML_TYPES",
    "IMAGE_TYPES",
    "FetchError",
    "FetchPolicy",
    "Page",
    "fetch",
    "parse_host",
]

#: Media types read as article pages.
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: Media types an image download accepts; the bytes are checked by content afterwards, and
#: many image CDNs label their files application/octet-stream.
IMAGE_TYPES = ("image/*", "application/octet-stream", "binary/octet-stream")

_REDIRECTS = {301, 302, 303, 307, 308}
#: Path segments of a page that is not the article but a wall in front of it.
_WALLS = {
    "auth",
    "authorize",
    "log-in",
    "login",
    "logon",
    "oauth",
    "oauth2",
    "paywall",
    "register",
    "sign-in",
    "signin",
    "sso",
    "subscribe",
    "subscription",
}


#: The well-known NAT64 prefix (RFC 6052): its last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """Why a URL could not be read, as one line an editor can act on."""


def _default_user_agent() -> str:
    try:
        release = version("newsletter")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        release = "dev"
    return f"newsletter/{release} (reads article metadata for newsletter teasers)"


def parse_host(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port`` as ``(host, port)``; the port may be absent."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
    if not host or (port and not port.isdigit()):
        raise ValueError(f"expected HOST or HOST:PORT, got {entry!r}")
    return host, int(port) if port else None


@dataclass(frozen=True)
class FetchPolicy:
    """The limits every fetch keeps; made from ``[fetch]`` and ``--allow-host``."""

    allow_hosts: frozenset[tuple[str, int | None]] = frozenset()
    timeout: float = 15.0
    connect_timeout: float = 5.0
    max_bytes: int = 3_000_000
    max_image_bytes: int = 8_000_000
    max_redirects: int = 5
    user_agent: str = field(default_factory=_default_user_agent)
    ca_file: Path | None = None  # trusted besides certifi's authorities

    @classmethod
    def from_settings(
        cls, settings: FetchSettings, allow: Iterable[str] = (), *, root: Path | None = None
    ) -> FetchPolicy:
        """The policy of ``[fetch]``, with the ``--allow-host`` entries in ``allow`` added;
        ``ca_file`` is found under ``root`` (the workspace) when relative.

        Raises ValueError naming an entry that is not ``HOST[:PORT]``.
        """
        hosts = frozenset(parse_host(entry) for entry in (*settings.allow_hosts, *allow))
        ca_file = Path(settings.ca_file) if settings.ca_file else None
        if ca_file is not None and root is not None and not ca_file.is_absolute():
            ca_file = root / ca_file
        return cls(
            allow_hosts=hosts,
            timeout=settings.timeout,
            connect_timeout=settings.connect_timeout,
            max_bytes=settings.max_bytes,
            max_image_bytes=settings.max_image_bytes,
            max_redirects=settings.max_redirects,
            user_agent=settings.user_agent or _default_user_agent(),
            ca_file=ca_file,
        )

    def allows(self, host: str, port: int) -> bool:
        """Whether ``host:port`` was allowed to resolve to a non-public address."""
        return (host, port) in self.allow_hosts or (host, None) in self.allow_hosts


@dataclass(frozen=True)
class Page:
    """What a fetch read: the body and where it finally came from."""

    url: str
    media_type: str
    charset: str | None
    body: bytes
    robots: str  # the X-Robots-Tag header, "" when absent


def _why_not_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The kind of a non-public address ("loopback", "private" ...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one (mapped, 6to4, Teredo, NAT64) is judged as itself.
        embedded = address.ipv4_mapped or address.sixtofour
        if address.teredo:
            embedded = address.teredo[1]
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            address = embedded
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def _resolve(host: str, port: int, seconds: float) -> list[Any]:
    """``getaddrinfo`` bounded in time: the system resolver has no timeout of its own, so it
    runs in a daemon thread that is left behind if it takes longer than ``seconds``."""
    found: list[Any] = []
    failed: list[Exception] = []

    def run() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as error:  # handed to the caller below
            failed.append(error)

    thread = threading.Thread(target=run, name="newsletter-resolve", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise FetchError(f"timed out resolving {host} after {seconds:g} s")
    if failed:
        raise failed[0]
    return found


def _vetted_addresses(host: str, port: int, policy: FetchPolicy) -> list[str]:
    """The addresses of ``host`` that may be connected to, or a FetchError saying why none."""
    try:
        infos = _resolve(host, port, policy.connect_timeout)
    except (socket.gaierror, UnicodeError) as error:
        reason = error.strerror if isinstance(error, socket.gaierror) else "not a valid name"
        raise FetchError(f"cannot resolve {host} ({reason})") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not policy.allows(host, port):
        for text in addresses:
            kind = _why_not_public(ipaddress.ip_address(text))
            if kind:
                shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                what = f"{host} is a" if host == text else f"{host} is {text}, a"
                raise FetchError(
                    f"refused: {what} {kind} address; "
                    f"pass --allow-host {shown} (or [fetch] allow_hosts) if you trust it"
                )
    return addresses


def _site(url: httpx.URL) -> tuple[str, int | None]:
    """A URL's site for the same-site rule: its host without ``www.``, and any explicit port."""
    host = url.host.lower().removeprefix("www.")
    port = url.port
    return host, None if port in (80, 443) else port


def _wall(url: httpx.URL) -> bool:
    """Whether a URL looks like a login or subscription page rather than an article."""
    return any(segment.lower() in _WALLS for segment in url.path.split("/"))


def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    kinds: tuple[str, ...] = HTML_TYPES,
    accept: str = "text/html,application/xhtml+xml;q=0.9",
    max_bytes: int | None = None,
    same_site: bool = True,
) -> Page:
    """GET ``url`` under ``policy``; a :class:`FetchError` says in one line what went wrong.

    ``kinds`` are the media types accepted (``type/*`` for a family); ``same_site`` refuses a
    redirect to another site (images may live on a CDN, so their downloads pass False).
    """
    limit = max_bytes or policy.max_bytes
    deadline = time.monotonic() + policy.timeout
    current = _checked_url(url)
    with httpx.Client(
        trust_env=False,
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
        verify=_tls(policy),
    ) as client:
        for _ in range(policy.max_redirects + 1):
            response = _get(client, current, policy, deadline, accept)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = _next_hop(current, response.headers["location"], policy, same_site)
                    continue
                return _read(response, current, kinds, limit, deadline, policy.timeout)
            finally:
                response.close()
    raise FetchError(f"more than {policy.max_redirects} redirects ([fetch] max_redirects)")


def _tls(policy: FetchPolicy) -> ssl.SSLContext:
    """Certificates checked against certifi's authorities, and ``ca_file``'s when given."""
    context = ssl.create_default_context(cafile=certifi.where())
    if policy.ca_file is not None:
        try:
            context.load_verify_locations(cafile=policy.ca_file)
        except (OSError, ssl.SSLError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise FetchError(f"cannot use [fetch] ca_file {policy.ca_file} ({reason})") from None
    return context


def _next_hop(current: httpx.URL, location: str, policy: FetchPolicy, same_site: bool) -> httpx.URL:
    """Where a redirect points, if it may be followed; else a FetchError saying why not.

    The target's addresses are vetted first, so a redirect into the editor's network is
    reported as what it is (the next hop vets them again, and connects to what it vetted).
    """
    target = _checked_url(urljoin(str(current), location))
    _vetted_addresses(target.raw_host.decode("ascii"), _port(target), policy)
    if _wall(target):
        raise FetchError(f"redirects to a login or subscription page ({target})")
    if same_site and _site(target) != _site(current):
        raise FetchError(
            f"redirects to another site ({target}); paste that URL if it is the article"
        )
    return target


def _checked_url(text: str) -> httpx.URL:
    """``text`` as a URL this module will fetch, or a FetchError saying why not."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise FetchError(f"not a valid URL ({error})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise FetchError("not an http(s) URL; paste the article's address, https://...")
    if url.userinfo:
        raise FetchError("has a user name or password in it; paste the article's public URL")
    return url


def _get(
    client: httpx.Client, url: httpx.URL, policy: FetchPolicy, deadline: float, accept: str
) -> httpx.Response:
    """Send the GET for one hop to a vetted address of its host; the body is not read yet."""
    host = url.raw_host.decode("ascii")
    port = _port(url)
    headers = {
        "Host": url.netloc.decode("ascii"),
        "User-Agent": policy.user_agent,
        "Accept": accept,
    }
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    last: httpx.ConnectError | None = None
    for address in _vetted_addresses(host, port, policy):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        timeout = httpx.Timeout(left, connect=min(policy.connect_timeout, left))
        request = client.build_request(
            "GET",
            url.copy_with(host=address, port=port),
            headers=headers,
            extensions=extensions,
            timeout=timeout,
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectTimeout:
            raise FetchError(f"timed out connecting after {policy.connect_timeout:g} s") from None
        except httpx.TimeoutException:
            raise FetchError(_timed_out(policy.timeout)) from None
        except httpx.ConnectError as error:  # try the host's next address, if it has one
            last = error
        except httpx.HTTPError as error:
            raise FetchError(f"the connection failed ({error or type(error).__name__})") from None
    if last is not None:
        raise FetchError(f"could not connect ({last})")
    raise FetchError(_timed_out(policy.timeout))


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _timed_out(seconds: float) -> str:
    return f"timed out after {seconds:g} s ([fetch] timeout)"


def _read(
    response: httpx.Response,
    url: httpx.URL,
    kinds: tuple[str, ...],
    limit: int,
    deadline: float,
    seconds: float,
) -> Page:
    """The body of a final (non-redirect) response, within the size and time limits."""
    status = response.status_code
    if status >= 400:
        raise FetchError(f"answered {status} {response.reason_phrase}".rstrip())
    if not 200 <= status < 300:
        raise FetchError(f"answered {status} {response.reason_phrase} instead of a page".rstrip())
    media_type, _, params = response.headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    if not any(
        media_type == kind or (kind.endswith("/*") and media_type.startswith(kind[:-1]))
        for kind in kinds
    ):
        wanted = "an HTML page" if kinds == HTML_TYPES else "an image"
        raise FetchError(f"is not {wanted} (Content-Type: {media_type or 'none'})")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(f"is too large ({int(declared):,} bytes; the limit is {limit:,})")
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise FetchError(f"is too large (over the limit of {limit:,} bytes)")
            if time.monotonic() > deadline:
                raise FetchError(_timed_out(seconds))
    except httpx.TimeoutException:
        raise FetchError(_timed_out(seconds)) from None
    except httpx.HTTPError as error:
        raise FetchError(f"the connection failed ({error or type(error).__name__})") from None
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return Page(
        url=str(url),
        media_type=media_type,
        charset=charset,
        body=bytes(body),
        robots=response.headers.get("x-robots-tag", ""),
    )
