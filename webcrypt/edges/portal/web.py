"""Helpers every portal page uses (the admin console too): cookies, sessions, CSRF,
security headers, client address, language and rendering.

Reusable pieces, all working on bottle's thread-local request and response:

- ``Portal``: what a page needs from the app (home, branding, view cache).
- ``cookie_name(home, base)``: ``__Host-<base>`` when cookies are Secure.
- ``set_session_cookie(home, token, name=SESSION)`` / ``session_token(home, name)``
  / ``clear_cookie(home, name)``.
- ``current_session(home, kind, name=SESSION)``: the live ``store.Session`` or None.
- ``posted_value(name)``: one field of a large url-encoded form as bytes, read in pieces.
- ``require_csrf(expected)``: compare the form's ``csrf`` field with the session's
  token (constant time); raises BadRequest. ``pre_csrf(home)`` /
  ``require_pre_csrf(home)``: the same for forms before login (double-submit cookie).
- ``security_headers(nonce, frame_ancestors="'none'", extra_img="")``: CSP with a
  nonce, HSTS, nosniff, Referrer-Policy; ``new_nonce()``.
- ``client_address(home)``: the peer, or the forwarded address when the peer is a
  trusted proxy; decided once per request (``client_resolver`` hook), the only place
  that trusts a proxy.
- ``user_agent()``: the User-Agent header, for the session a login starts.
- ``language(home, recipient=None)``: ?lang, the stored choice, cookie, Accept-Language;
  ``remember_language(home, code)`` sets the cookie; ``language_link(code)`` the header's link.
- ``render(name, **values)``: a template from the package's templates folder.
"""

import json
import re
import secrets
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import bottle

from ...base import errors
from ...base.errors import BadRequest
from ...context.home import Home
from ...core import crypto, netaccess
from ...infra import store
from ...usecases import sessions
from . import i18n

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
SESSION = "webcrypt"
PRE = "webcrypt-pre"
LANG = "webcrypt-lang"


@dataclass
class Portal:
    home: Home
    cache: object = None


# A PostgreSQL restart or failover shorter than this is a slower answer, not an error page.
DATABASE_WAIT_SECONDS = 10

# Requests that change nothing a second run could double: answered again on a fresh connection.
REPEATABLE = ("GET", "HEAD")


def guard(callback, show):
    """The one guard of every route, portal and console alike: a WebcryptError becomes its status
    page (``show(error, status)``, the status from failures.py's one table), a database failure a
    503, a bug a 500 with its type in the log and never its text (it may hold content)."""

    def wrapper(*args, **kwargs):
        try:
            return _through_a_dropped_connection(callback, args, kwargs)
        except bottle.HTTPResponse:
            raise
        except errors.WebcryptError as e:
            return show(e, None)
        except store.DatabaseError as e:
            unavailable = store.unavailable(e)
            print(f"webcrypt serve: {unavailable} in {bottle.request.path}", file=sys.stderr)
            return show(unavailable, None)
        except Exception as e:  # a bug
            print(f"webcrypt serve: error: {type(e).__name__} in {bottle.request.path}", file=sys.stderr)
            return show(None, 500)

    return wrapper


def _through_a_dropped_connection(callback, args, kwargs):
    """A read whose connection the database dropped under it (a restart's fast shutdown ends every
    session, even one that answered the check at the start of the request) runs once more on a
    fresh connection, waiting for the database as a request's start does. Without this, each node
    answers 503 at a restart and a balancer takes them all out of service at once."""
    try:
        return callback(*args, **kwargs)
    except store.ConnectionLost:
        if bottle.request.method not in REPEATABLE:
            raise
        store.usable_connection(wait=DATABASE_WAIT_SECONDS)
    return callback(*args, **kwargs)


def cookie_name(home: Home, base: str) -> str:
    # __Host- cookies must be Secure, path=/ and host-only; browsers drop them otherwise.
    return f"__Host-{base}" if home.config["portal.secure_cookies"] else base


def _cookie_options(home: Home, max_age: int | None = None) -> dict:
    options = {"path": "/", "httponly": True, "samesite": "lax", "secure": home.config["portal.secure_cookies"]}
    if max_age is not None:
        options["max_age"] = max_age
    return options


def set_session_cookie(home: Home, token: str, name: str = SESSION, max_age: int | None = None) -> None:
    bottle.response.set_cookie(cookie_name(home, name), token, **_cookie_options(home, max_age))


def session_token(home: Home, name: str = SESSION) -> str | None:
    return bottle.request.get_cookie(cookie_name(home, name))


def clear_cookie(home: Home, name: str) -> None:
    bottle.response.delete_cookie(cookie_name(home, name), **_cookie_options(home))


def current_session(home: Home, kind: str, name: str = SESSION) -> store.Session | None:
    return sessions.find(home, session_token(home, name), kind)


def form(name: str, limit: int = 10_000) -> str:
    """A form field as text ('' when missing), decoded as UTF-8."""
    try:
        value = bottle.request.forms.getunicode(name, default="") or ""
    except ValueError:  # bottle refuses e.g. a control character in a multipart header (a file name)
        raise BadRequest("the form could not be read: check the names of attached files") from None
    return value[:limit]


FORM_PIECE = 1 << 20
URLENCODED = "application/x-www-form-urlencoded"


def posted_value(name: str) -> bytes | bytearray:
    """The value of field *name* (the last one) in the request's form, percent-decoded, as bytes
    (b'' when missing).

    A url-encoded body is read from the request a MiB at a time and unquoted as it comes:
    bottle's request.forms would hold a large one (secure.htm posts a whole envelope) four
    times over: its copy of the body, that as text, the unquoted text, and bytes made from it.
    Other bodies (multipart) go through bottle. Like bottle, a body over MEMFILE_MAX is refused (413).
    """
    request = bottle.request
    if request.content_type.split(";")[0].strip().lower() != URLENCODED or request.chunked:
        return (request.forms.get(name) or "").encode("latin-1", "replace")
    if request.content_length > request.MEMFILE_MAX:
        raise bottle.HTTPError(413, "Request entity too large")
    fields = _UrlencodedField(name.encode())
    for piece in _body_pieces(request):
        fields.feed(piece)
    return fields.value()


def _body_pieces(request) -> Iterator[bytes]:
    stream = request.body if "bottle.request.body" in request.environ else request.environ["wsgi.input"]
    left = max(request.content_length, 0)
    while left > 0:
        piece = stream.read(min(FORM_PIECE, left))
        if not piece:
            return
        left -= len(piece)
        yield piece


class _UrlencodedField:
    """Finds one field in url-encoded pieces the way bottle reads a form (pairs split at "&",
    "+" is a space, names and values unquoted; a name without "=" has an empty value), keeping
    only that field's value."""

    LONGEST_NAME = 1000

    def __init__(self, wanted: bytes):
        self.wanted, self.name, self.in_value = wanted, bytearray(), False
        self.current: _Unquoting | None = None
        self.found: bytes | bytearray = b""

    def feed(self, piece: bytes) -> None:
        at = 0
        while at < len(piece):
            at = self._value_part(piece, at) if self.in_value else self._name_part(piece, at)

    def _name_part(self, piece: bytes, at: int) -> int:
        stop = _NAME_END.search(piece, at)
        end = stop.start() if stop else len(piece)
        self.name += piece[at:end][: self.LONGEST_NAME - len(self.name)]
        if stop is None:
            return end
        if stop.group() == b"=":
            self.in_value = True
            self.current = _Unquoting() if self._is_wanted() else None
        elif self._is_wanted():
            self.found = b""
        self.name.clear()
        return end + 1

    def _value_part(self, piece: bytes, at: int) -> int:
        stop = piece.find(b"&", at)
        end = stop if stop >= 0 else len(piece)
        if self.current is not None:
            self.current.feed(piece[at:end])
        if stop < 0:
            return end
        self._end_value()
        return end + 1

    def _end_value(self) -> None:
        if self.current is not None:
            self.found, self.current = self.current.finish(), None
        self.in_value = False

    def _is_wanted(self) -> bool:
        return urllib.parse.unquote_to_bytes(bytes(self.name).replace(b"+", b" ")) == self.wanted

    def value(self) -> bytes | bytearray:
        if self.in_value:
            self._end_value()
        elif self.name and self._is_wanted():
            self.found = b""
        return self.found


_NAME_END = re.compile(rb"[=&]")


class _Unquoting:
    """Percent-decoding in pieces: an escape cut by a piece's end waits for the next piece."""

    def __init__(self):
        self.out, self.tail = bytearray(), b""

    def feed(self, data: bytes) -> None:
        data = self.tail + data.replace(b"+", b" ")
        cut = data.find(b"%", max(0, len(data) - 2))
        data, self.tail = (data[:cut], data[cut:]) if cut >= 0 else (data, b"")
        self.out += urllib.parse.unquote_to_bytes(data)

    def finish(self) -> bytearray:
        self.out += urllib.parse.unquote_to_bytes(self.tail)
        return self.out


def require_csrf(expected: str) -> None:
    given = form("csrf", 200)
    if not given or not crypto.same(given.encode(), expected.encode()):
        raise BadRequest("the form has expired or did not come from this site: please try again")


def pre_csrf(home: Home) -> str:
    """The pre-login CSRF token (double-submit cookie), set when missing."""
    token = bottle.request.get_cookie(cookie_name(home, PRE))
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
        bottle.response.set_cookie(cookie_name(home, PRE), token, **_cookie_options(home))
    return token


def require_pre_csrf(home: Home) -> None:
    require_csrf(bottle.request.get_cookie(cookie_name(home, PRE)) or "\0missing")


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def security_headers(nonce: str, frame_ancestors: str = "'none'", extra_img: str = "") -> None:
    policy = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data: {extra_img}; "
        f"frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}"
    )
    set_common_headers(policy)


def set_common_headers(policy: str) -> None:
    headers = bottle.response.headers
    headers["Content-Security-Policy"] = policy
    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers.setdefault("X-Frame-Options", "DENY")
    headers["Cache-Control"] = "no-store"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"


# Headers through which a proxy tells who the client is and how it connected.
FORWARDING = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
              "HTTP_X_REAL_IP", "HTTP_FORWARDED")
CLIENT = "webcrypt.client"


def client_address(home: Home) -> str:
    """The one address every throttle, network rule and audit line uses for this request.

    This is the only place that trusts a proxy (``portal.trusted_proxies``): waitress is
    told to leave the forwarding headers alone (server.waitress_options), and once the
    client is known, X-Forwarded-For is removed and REMOTE_ADDR holds the client, so that
    nothing later (bottle's ``request.remote_addr`` included) can read another answer.
    From a peer that is no trusted proxy, every forwarding header is dropped unread.
    """
    environ = bottle.request.environ
    if CLIENT not in environ:
        peer = environ.get("REMOTE_ADDR", "")
        proxies = home.config["portal.trusted_proxies"]
        client = netaccess.client_behind(peer, environ.get("HTTP_X_FORWARDED_FOR", ""), proxies)
        trusted = netaccess.in_networks(peer, proxies)
        for header in ("HTTP_X_FORWARDED_FOR",) if trusted else FORWARDING:
            environ.pop(header, None)
        environ["webcrypt.peer"], environ["REMOTE_ADDR"], environ[CLIENT] = peer, client, client
    return environ[CLIENT]


def user_agent() -> str:
    """The browser's User-Agent header (the session list shows the device it names)."""
    return (bottle.request.get_header("User-Agent", "") or "")[:512]


def client_resolver(home: Home):
    """A before_request hook deciding the client first, before any route or hook reads a header."""
    return lambda: client_address(home)


def language(home: Home, recipient: store.Recipient | None = None) -> str:
    asked = i18n.valid(bottle.request.query.get("lang"))
    if asked:
        remember_language(home, asked)
        return asked
    return (
        i18n.valid(recipient.language if recipient else None)
        or chosen_language(home)
        or i18n.negotiate(bottle.request.headers.get("Accept-Language"))
    )


def remember_language(home: Home, code: str) -> None:
    """This browser's language from now on (signed out, it decides; signing in sets the account's)."""
    bottle.response.set_cookie(cookie_name(home, LANG), code, **_cookie_options(home, 365 * 86400))


def language_link(code: str, upload: str | None = None) -> str:
    """The link to this page in language *code*: the same path with the same query (an upload
    on the login page, say), only ``lang`` changed; relative, so it never leaves the page.
    A page that answers a form (a refused login, a lock, an error after a POST) cannot be asked
    for again: its link leads to the nearest page above it that a link can open (the login form
    for a refused login, with the message it leads to, *upload*; the profile for its forms)."""
    if bottle.request.method in ("GET", "HEAD"):
        query = [(k, v) for k, v in bottle.request.query.allitems() if k != "lang"] + [("lang", code)]
        return "?" + urllib.parse.urlencode(query)
    query = ([("upload", upload)] if upload else []) + [("lang", code)]
    return place_to_return(bottle.request.path) + "?" + urllib.parse.urlencode(query)


def place_to_return(path: str) -> str:
    """*path*, or the nearest path above it, that this application answers with GET; else "/"."""
    while path not in ("", "/"):
        try:
            bottle.request.app.router.match({"PATH_INFO": path, "REQUEST_METHOD": "GET"})
            return path
        except bottle.HTTPError:
            path = path.rsplit("/", 1)[0]
    return "/"


def chosen_language(home: Home) -> str | None:
    """The language this browser chose earlier (a ?lang link or button), kept in a cookie."""
    return i18n.valid(bottle.request.get_cookie(cookie_name(home, LANG)))


# One list object: bottle caches compiled templates by the identity of the lookup list.
_LOOKUP = [str(TEMPLATES)]


def render(name: str, **values) -> str:
    """Every page gets the list of languages (its language menu is made from it)."""
    return bottle.template(name, template_lookup=_LOOKUP, **{"languages": i18n.LANGUAGES, **values})


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def logo_origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def ceremony_json(ceremony: str, options: dict) -> str:
    """A passkey ceremony's start for static/passkey.js: its id and the WebAuthn options."""
    bottle.response.content_type = "application/json"
    bottle.response.headers["Cache-Control"] = "no-store"
    return json.dumps({"ceremony": ceremony, "publicKey": options})
