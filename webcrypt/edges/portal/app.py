"""The portal's WSGI application, built by ``create_app(home)``; never bottle's default app.

Templates and static files are found from this package's folder, so the app
runs alike from a checkout, a wheel or a PyInstaller bundle. One place,
``error_page`` (with the table in failures.py), turns exceptions into status
pages in the user's language; nothing unexpected reaches the browser or the log beyond its type name.
If ``webcrypt.edges.portal.admin`` exists, its ``create_admin_app(home)`` is mounted
at /admin.
"""

import importlib.util

import bottle

from ...base import errors
from ...base.config import Config
from ...context.home import Home
from ...infra import store
from . import failures, i18n, pages, passkey_pages, sender_pages, web


def create_app(home: Home | Config | None = None, home_factory=None) -> bottle.Bottle:
    """The portal for *home* (a Home or a Config), or for the Home that *home_factory()* returns."""
    home = home if home is not None else home_factory()
    if isinstance(home, Config):
        home = Home(home)
    home.connect()
    home.refresh_settings()  # a new app starts with the settings as stored now
    portal = web.Portal(home=home, cache=pages.new_cache(home))
    app = bottle.Bottle(catchall=True)
    bottle.BaseRequest.MEMFILE_MAX = body_limit(home)  # keep bodies in memory: replies hold plaintext
    app.install(_guarded(portal))
    app.add_hook("before_request", web.client_resolver(home))  # first: every later step sees one client
    app.add_hook("before_request", _connect)
    app.add_hook("before_request", settings_refresher(home))
    for code in failures.TITLES:
        app.error(code)(lambda e, code=code: _http_error_page(portal, e))
    app.route("/healthz", "GET", lambda: healthz(home))
    app.route("/static/<path:path>", "GET", _static)
    recipient_pages = pages.install(app, portal)
    passkey_pages.install(app, recipient_pages)
    sender_pages.install(app, recipient_pages)
    _mount_admin(app, home)
    return app


def body_limit(home: Home) -> int:
    """Largest request body: an envelope of the largest message, base64 in a url-encoded form."""
    biggest = max(home.config["policy.max_message_size"], home.config["portal.reply_max_size"])
    return int(biggest * 1.6) + 256 * 1024


def _connect() -> None:
    try:
        store.usable_connection(wait=web.DATABASE_WAIT_SECONDS)
    except errors.StoreUnavailable:
        pass  # the route's first query fails again and gets its 503 page from _guarded


SETTINGS_SECONDS = 30  # how stale the console's settings may be on other portal nodes


def settings_refresher(home: Home):
    """A before_request hook: the console's settings (limits, branding, credentials channel)
    re-read at most every SETTINGS_SECONDS, the one cache of them in a portal process.

    A database that cannot be read keeps the last settings: the request itself then
    fails or succeeds on its own (/healthz answers 503, not a 500 from here).
    """

    def refresh() -> None:
        try:
            home.refresh_settings(max_age=SETTINGS_SECONDS)
        except (errors.WebcryptError, store.DatabaseError):
            pass

    return refresh


def healthz(home: Home) -> str:
    try:
        store.usable_connection()  # at once: the balancer asks again soon
        store.schema_version()
        home.keyring.wrapping_key(home.keyring.current)
    except (errors.WebcryptError, store.DatabaseError):
        bottle.response.status = 503
        return "unavailable\n"
    bottle.response.content_type = "text/plain; charset=utf-8"
    bottle.response.headers["Cache-Control"] = "no-store"
    return "ok\n"


def _static(path: str):
    response = bottle.static_file(path, root=str(web.STATIC))
    response.set_header("Cache-Control", "public, max-age=3600")
    response.set_header("X-Content-Type-Options", "nosniff")
    return response


def _mount_admin(app: bottle.Bottle, home: Home) -> None:
    if importlib.util.find_spec("webcrypt.edges.portal.admin") is None:
        return
    from . import admin

    app.mount("/admin/", admin.create_admin_app(home, "/admin"))
    app.route("/admin", "GET", lambda: pages.see_other("/admin/"))
    admin.install_metrics(app, home)  # GET /metrics for Prometheus (networks or bearer token)


def _guarded(portal: web.Portal):
    """The portal's pages through the one guard, its error pages in the reader's language."""
    return lambda callback: web.guard(callback, lambda error, status: error_page(portal, error, status))


def error_page(portal: web.Portal, error: errors.WebcryptError | None, status: int | None = None) -> str:
    status = status or failures.status_of(error)
    _ = i18n.translator(web.language(portal.home))
    detail = failures.explain(error, status, _)
    bottle.response.status = status
    if status == 429:
        bottle.response.headers["Retry-After"] = "900"
    title = _(failures.TITLES.get(status, failures.TITLES[500]))
    resume = pages.message_in_path(bottle.request.path)
    step = failures.next_step(error, status, on_message=resume is not None)
    return pages.page(portal, "error", title=title, detail=detail, status=status, resume=resume,
                      next_step=_(step) if step else "", contact_is_next=status in failures.CONTACT_IS_NEXT)


def _http_error_page(portal: web.Portal, error: bottle.HTTPError) -> str:
    try:
        return error_page(portal, None, error.status_code)
    except Exception:  # the error page itself must not fail
        return "error\n"
