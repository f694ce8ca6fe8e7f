"""The web console at /admin: users, messages, corporate identity, mail settings, monitoring.

``create_admin_app(home)`` builds a Bottle app that the portal (app.py) mounts
at /admin; ``install_metrics(app, home)`` adds /metrics to the portal. Every
route goes through ``page``: fresh settings, the client-network rule, the admin session, CSRF on POST and the security headers,
all with the portal's helpers (web.py, i18n.py); a WebcryptError becomes a
status page in the admin's language. Only administrator accounts (admins.py)
log in here, never recipients: their sessions are of kind "admin" in a cookie
of their own.
"""

import functools
from urllib.parse import quote, urlencode

import bottle

from ...base.errors import (
    BadRequest,
    ColourTooLight,
    PasskeyRejected,
    ConfigError,
    LoginFailed,
    NotFound,
    SecondFactorMissing,
    StoreUnavailable,
    Throttled,
    WebcryptError,
    WrongPassword,
)
from ...context.home import Home
from ...core import contrast, display, mime, netaccess, qr
from ...usecases import (
    account_admin,
    accounts,
    admins,
    auditlog,
    messages,
    monitor,
    passkeys,
    sessions,
    settings,
    wording,
)
from . import admin_text, failures, moments, pages, passkey_pages, web

TEMPLATES = web.TEMPLATES
COOKIE = "webcrypt-admin"
KIND = "admin"
# What an administrator who must add a passkey first may reach ([admin] require_passkey).
PASSKEY_ENROLMENT = ("/passkeys", "/passkeys/add/options", "/passkeys/add", "/logout")


def create_admin_app(home: Home, prefix: str = "/admin") -> bottle.Bottle:
    """The console; mount it with ``portal.mount(prefix + "/", create_admin_app(home, prefix))``."""
    app = bottle.Bottle()
    console = Console(home, prefix.rstrip("/"))
    console.routes(app)
    return app


def install_metrics(app: bottle.Bottle, home: Home) -> None:
    """Add GET /metrics (Prometheus text) to the portal *app*: allowed networks or a bearer token."""

    @app.get("/metrics")
    def metrics():
        # the database connection comes from the portal's hook, as for every request
        home.refresh_settings()
        client = web.client_address(home)
        if not netaccess.metrics_allowed(home.config, client, bottle.request.get_header("Authorization", "")):
            bottle.response.status = 403
            bottle.response.content_type = "text/plain; charset=utf-8"
            return "forbidden\n"
        bottle.response.content_type = "text/plain; version=0.0.4; charset=utf-8"
        bottle.response.set_header("Cache-Control", "no-store")
        return monitor.prometheus(monitor.snapshot(home))


class Console:
    def __init__(self, home: Home, prefix: str):
        self.home = home
        self.prefix = prefix

    # --- plumbing -------------------------------------------------------------

    def routes(self, app: bottle.Bottle) -> None:
        page, public = self.page, functools.partial(self.page, login_needed=False)
        app.route("/", "GET", page(self.monitoring))
        app.route("/login", "GET", public(self.login_form))
        app.route("/login", "POST", public(self.login))
        app.route("/logout", "POST", page(self.logout))
        app.route("/users", "GET", page(self.user_list))
        app.route("/users/<address>", "GET", page(self.user_page))
        app.route("/users/<address>/<action>", "POST", page(self.user_action))
        app.route("/messages", "GET", page(self.message_list))
        app.route("/messages/<message_id>/<action>", "POST", page(self.message_action))
        app.route("/branding", "GET", page(self.branding_form))
        app.route("/branding", "POST", page(self.branding_save))
        app.route("/branding/preview", "GET", page(self.branding_preview))
        app.route("/settings", "GET", page(self.settings_form))
        app.route("/settings", "POST", page(self.settings_save))
        app.route("/audit", "GET", page(self.audit))
        app.route("/sessions", "GET", page(self.own_sessions))
        app.route("/sessions/end", "POST", page(self.end_session))
        app.route("/sessions/end-others", "POST", page(self.end_other_sessions))
        app.route("/login/passkey/options", "POST", public(self.passkey_login_options))
        app.route("/login/passkey", "POST", public(self.passkey_login))
        app.route("/passkeys", "GET", page(self.passkey_page))
        app.route("/passkeys/add/options", "POST", page(self.passkey_add_options))
        app.route("/passkeys/add", "POST", page(self.passkey_add))
        app.route("/passkeys/<number>/rename", "POST", page(self.passkey_rename))
        app.route("/passkeys/<number>/remove", "POST", page(self.passkey_remove))
        app.route("/second-factor", "GET", page(self.second_factor_page))
        app.route("/second-factor", "POST", page(self.second_factor_change))

    def page(self, handler, login_needed: bool = True):
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            # the one guard of every route (web.guard); the database connection comes from the portal's hook
            return web.guard(self.guarded, self.failure_page)(handler, login_needed, *args, **kwargs)

        return wrapper

    def guarded(self, handler, login_needed: bool, *args, **kwargs):
        self.home.refresh_settings()
        request = bottle.request
        request.environ["webcrypt.nonce"] = web.new_nonce()
        request.environ["webcrypt.lang"] = web.language(self.home)
        web.security_headers(request.environ["webcrypt.nonce"], extra_img="https:")
        if not netaccess.admin_allowed(self.home.config, web.client_address(self.home)):
            return self.error_page(403, self.t("The console is not available from your network."))
        session = web.current_session(self.home, KIND, COOKIE)
        request.environ["webcrypt.session"] = session
        if login_needed and session is None:
            if request.method == "POST":
                return self.error_page(403, self.t("Your session has ended. Please log in again."))
            return pages.see_other(self.url("/login", next=request.fullpath))
        if request.method == "POST" and login_needed:
            try:
                web.require_csrf(session.csrf)
            except BadRequest:
                return self.error_page(400, self.t("The form has expired. Please try again."))
        inside = request.fullpath.removeprefix(self.prefix)
        if login_needed and inside not in PASSKEY_ENROLMENT and admins.must_add_passkey(self.home, session.principal):
            return pages.see_other(self.url("/passkeys"))  # [admin] require_passkey: add one first
        return handler(*args, **kwargs)

    def lang(self) -> str:
        return bottle.request.environ.get("webcrypt.lang") or web.language(self.home)

    def t(self, text: str) -> str:
        return admin_text.translate(text, self.lang())

    def url(self, path: str, **query) -> str:
        query = {k: v for k, v in query.items() if v not in (None, "")}
        return self.prefix + path + ("?" + urlencode(query) if query else "")

    def safe_next(self, target: str) -> str:
        """Only a path inside the console, never another site."""
        if target.startswith(self.prefix + "/") and not target.startswith("//") and "\\" not in target:
            return target
        return self.url("/")

    def render(self, name: str, status: int = 200, **values) -> str:
        session = bottle.request.environ.get("webcrypt.session")
        bottle.response.status = status
        bottle.response.content_type = "text/html; charset=utf-8"
        return web.render(
            name,
            _=self.t, lang=self.lang(), url=self.url, quote=quote,
            nonce=bottle.request.environ["webcrypt.nonce"],
            csrf=session.csrf if session else "",
            admin=session.principal if session else None,
            here=bottle.request.fullpath,
            language_link=web.language_link,  # the console's routes carry its /admin prefix themselves
            brand=self.brand(),
            date=display.date_text, shown=display.shown_value, detail=display.readable_detail,
            size=self.size_text, setting=self.setting_text, label=lambda key: admin_text.label(key, self.lang()),
            # not on error pages: one for a database that is down must not ask it again
            recovery_codes_low=admins.recovery_codes_low(session.principal) if session and status < 400 else None,
            **values,
        )

    def size_text(self, size: int) -> str:
        return display.size_text(size, self.lang())

    def setting_text(self, key: str, value) -> str:
        """A setting's value as typed, sizes with KB/MB beside the byte count."""
        if key in admin_text.SIZES and isinstance(value, int):
            return f"{display.shown_value(value)} ({self.size_text(value)})"
        return display.shown_value(value)

    def brand(self) -> dict:
        """[branding] as the console shows it: a too-light colour from the file darkened (contrast.py)."""
        branding = self.home.config.values["branding"]
        return {**branding, "color": contrast.readable_brand(str(branding.get("color") or ""))}

    def failure_page(self, error: WebcryptError | None, status: int | None) -> str:
        """An error's page: an administrator reads its own words (they name what to fix)."""
        if isinstance(error, StoreUnavailable):
            return self.error_page(503, self.t("The database is busy. Please try again in a moment."))
        if error is None:
            return self.error_page(status or 500, self.t("Something went wrong."))
        return self.error_page(failures.status_of(error), self.t(str(error)))

    def error_page(self, status: int, text: str) -> str:
        return self.render("admin_error.tpl", status=status, message=text, title=self.t("Error"))

    def actor(self) -> str:
        return f"admin:{bottle.request.environ['webcrypt.session'].principal}"

    def client(self) -> str:
        return web.client_address(self.home)

    def form(self, name: str) -> str:
        return web.form(name)

    # --- login -----------------------------------------------------------------

    def lock_sentences(self, error) -> list[str]:
        """The recipients' words on the lock (moments.py), in the console's catalogue."""
        return moments.Moments(self.home, self.lang(), self.t).lock_sentences(
            error, self.home.config["throttle.login_block_minutes"])

    def login_form(self, message: str = "", status: int = 200, lock: list[str] | None = None):
        # ?recovery=1: the code field asks for a recovery code (letters: no numeric keypad on a phone)
        recovery = (bottle.request.query.get("recovery") or self.form("recovery")) == "1"
        return self.render("admin_login.tpl", status=status, title=self.t("Administrator login"),
                           login_token=web.pre_csrf(self.home), message=message, recovery=recovery, lock=lock or [],
                           next=bottle.request.query.get("next", "") or self.form("next"),
                           origin=passkeys.relying_party(self.home).origin,
                           passkey_only=self.home.config["admin.require_passkey"])

    def login(self):
        try:
            web.require_pre_csrf(self.home)
        except BadRequest:
            return self.login_form(self.t("The form has expired. Please try again."), status=400)
        try:
            signed = admins.login(self.home, self.form("name"), self.form("password"), self.client(),
                                  code=self.form("code"), replacing=web.session_token(self.home, COOKIE),
                                  user_agent=web.user_agent())
        except Throttled as e:
            lock = self.lock_sentences(e)
            return self.login_form("" if lock else self.t("Too many attempts. Please wait a while."), status=429, lock=lock)
        except SecondFactorMissing:
            return self.login_form(self.t(
                "A second factor is required. Enrol one over SSH with 'webcrypt admin totp NAME', then log in with its code."
            ), status=403)
        except LoginFailed as e:
            return self.login_form(self.t("The name or the password is wrong."), status=403, lock=self.lock_sentences(e))
        web.set_session_cookie(self.home, signed.token, COOKIE)
        return pages.see_other(self.safe_next(self.form("next")))

    def passkey_login_options(self):
        web.require_pre_csrf(self.home)
        ceremony, options = passkeys.begin_sign_in(self.home, KIND)
        return web.ceremony_json(ceremony, options)

    def passkey_login(self):
        try:
            web.require_pre_csrf(self.home)
        except BadRequest:
            return self.login_form(self.t("The form has expired. Please try again."), status=400)
        answer = passkeys.Answer(self.form("ceremony")[:100], web.form("credential", passkeys.MAX_RESPONSE))
        try:
            signed = admins.login_with_passkey(self.home, answer, self.client(),
                                               replacing=web.session_token(self.home, COOKIE),
                                               user_agent=web.user_agent())
        except Throttled:
            return self.login_form(self.t("Too many attempts. Please wait a while."), status=429)
        except LoginFailed:
            return self.login_form(self.t("The passkey was not accepted. Try again, or log in with your password."),
                                   status=403)
        web.set_session_cookie(self.home, signed.token, COOKIE)
        return pages.see_other(self.safe_next(self.form("next")))

    def logout(self):
        sessions.end(web.session_token(self.home, COOKIE))
        web.clear_cookie(self.home, COOKIE)
        return pages.see_other(self.url("/login"))

    # --- the administrator's own passkeys ------------------------------------------

    def passkey_page(self, message: str = "", status: int = 200):
        name = bottle.request.environ["webcrypt.session"].principal
        if not message and admins.must_add_passkey(self.home, name):
            message, status = self.t("This console requires a passkey: add one to continue."), 200
        return self.render("admin_passkeys.tpl", status=status, title=self.t("Passkeys"), message=message,
                           failed=status != 200, passkeys=passkeys.of(KIND, name),
                           origin=passkeys.relying_party(self.home).origin)

    def passkey_add_options(self):
        """A passkey is a way in: the password is asked again first (counted like a login)."""
        name = bottle.request.environ["webcrypt.session"].principal
        try:
            admins.confirm_password(self.home, name, self.form("password"), self.client())
        except WrongPassword:
            bottle.response.status = 403
            return ""
        ceremony, options = passkeys.begin_registration(self.home, KIND, name, name)
        return web.ceremony_json(ceremony, options)

    def passkey_add(self):
        name = bottle.request.environ["webcrypt.session"].principal
        try:
            passkeys.finish_registration(self.home, KIND, name, self.form("ceremony")[:100],
                                         web.form("credential", passkeys.MAX_RESPONSE),
                                         self.form("name") or passkey_pages.default_name(), self.client(), self.actor())
        except PasskeyRejected:
            return self.passkey_page(self.t("The passkey could not be added. Please try again."), status=400)
        return self.passkey_page(self.t("Passkey added. You can sign in with it now."))

    def passkey_rename(self, number):
        name = bottle.request.environ["webcrypt.session"].principal
        passkeys.rename(self.home, KIND, name, number, self.form("name"), self.client(), self.actor())
        return self.passkey_page(self.t("The passkey's name is saved."))

    def passkey_remove(self, number):
        session = bottle.request.environ["webcrypt.session"]
        if self.home.config["admin.require_passkey"] and len(passkeys.of(KIND, session.principal)) == 1:
            return self.passkey_page(self.t("This console requires a passkey: add another before you remove this one."),
                                     status=400)
        passkeys.remove(self.home, KIND, session.principal, number, self.client(), self.actor())
        sessions.end_all(KIND, session.principal, keep=session)
        return self.passkey_page(self.t("Passkey removed. Your other console sessions were ended."))

    # --- the administrator's own sessions -----------------------------------------

    def own_sessions(self, message: str = "", status: int = 200):
        session = bottle.request.environ["webcrypt.session"]
        listed = sessions.listing(self.home, KIND, session.principal, session)
        return self.render("admin_sessions.tpl", status=status, title=self.t("Your sessions"),
                           active_sessions=listed, message=message, failed=status != 200)

    def end_session(self):
        session = bottle.request.environ["webcrypt.session"]
        try:
            sessions.end_one(self.home, session, self.form("session")[:40], self.client())
        except (BadRequest, NotFound) as e:  # nothing was ended: the list again, saying why
            return self.own_sessions(self.t(str(e)), status=failures.status_of(e))
        return self.own_sessions(self.t("The session was ended."))

    def end_other_sessions(self):
        session = bottle.request.environ["webcrypt.session"]
        ended = sessions.end_others(self.home, session, self.client())
        return self.own_sessions(self.t("Sessions ended: {count}.").format(count=len(ended)))

    # --- users -----------------------------------------------------------------

    def user_list(self):
        search = bottle.request.query.getunicode("q", default="") or ""
        rows = [accounts.describe(self.home, r) for r in accounts.listing(search.strip())[:500]]
        return self.render("admin_users.tpl", title=self.t("Users"), rows=rows, search=search)

    def user_page(self, address, message: str = "", password: str = ""):  # nosec B107 - "": none to show
        row = accounts.describe(self.home, accounts.get(address))
        return self.render("admin_user.tpl", title=row["address"], row=row, message=message, password=password,
                           active_sessions=sessions.listing(self.home, accounts.KIND, row["address"]))

    def user_action(self, address, action):
        home, actor, client = self.home, self.actor(), self.client()
        if action == "reset":
            if self.form("confirm") != "yes":
                raise BadRequest(self.t("To reset the password, tick the box: the current password stops working at once."))
            shown = {}
            new = account_admin.reset(home, address, actor, client, mail=True,
                              print_login_data=lambda n: shown.update(password=n.password))
            text = "A new password was set and the login data were sent." if not shown else \
                "A new password was set. Pass it on by a safe channel; it is shown only now."
            return self.user_page(new.address, self.t(text), shown.get("password", ""))
        if action == "unlock":
            account_admin.unlock(home, address, actor, client)
            return self.user_page(address, self.t("The account is unlocked."))
        if action in ("disable", "enable"):
            account_admin.set_disabled(home, address, action == "disable", actor, client)
            return self.user_page(address, self.t("Disabled." if action == "disable" else "Enabled."))
        if action == "end-sessions":
            ended = sessions.end_everywhere(home, accounts.KIND, accounts.get(address).address, actor, client)
            return self.user_page(address, self.t("Sessions ended: {count}.").format(count=len(ended)))
        if action == "extend":
            account_admin.extend(home, address, self.days(), actor, client)
            return self.user_page(address, self.t("The validity was changed."))
        if action == "delete":
            recipient = accounts.get(address)
            if self.form("confirm").strip().lower() != recipient.address:
                raise BadRequest(self.t("To delete, type the address exactly as shown."))
            account_admin.delete(home, recipient.address, actor, client)
            return pages.see_other(self.url("/users", deleted=recipient.address))
        raise BadRequest(self.t("Unknown action."))

    def days(self) -> int:
        text = self.form("days").strip()
        if not text.isdigit() or int(text) > 36500:
            raise BadRequest(self.t("Days must be a whole number from 0 to 36500."))
        return int(text)

    # --- messages ----------------------------------------------------------------

    def message_list(self, message: str = "", recipient: str | None = None):
        query = bottle.request.query
        sender = query.getunicode("sender", default="") or ""
        if recipient is None:
            recipient = query.getunicode("recipient", default="") or ""
        since = display.parse_day(query.get("since", ""))
        until = display.parse_day(query.get("until", ""))
        rows = messages.described(self.home, messages.listing(
            sender, recipient, since, until + 86400 if until else None, limit=500))
        return self.render("admin_messages.tpl", title=self.t("Messages"), rows=rows, message=message,
                           filters={"sender": sender, "recipient": recipient,
                                    "since": query.get("since", ""), "until": query.get("until", "")})

    def message_action(self, message_id, action):
        if action == "recall":
            if self.form("confirm") != "yes":
                raise BadRequest(self.t("To recall, tick the box: the message can never be opened again."))
            record = messages.recall(self.home, message_id, self.actor(), self.client())
            text = self.t("Message recalled: it can never be opened again.")
        elif action == "expire":
            record = messages.set_expiry(self.home, message_id, self.days(), self.actor(), self.client())
            text = self.t("The expiry was changed.")
        else:
            raise BadRequest(self.t("Unknown action."))
        return self.message_list(f"{text} ({record.id})", recipient=record.recipient)

    # --- corporate identity and mail settings -------------------------------------

    def branding_form(self, message: str = "", status: int = 200, typed: dict | None = None,
                      refused: ColourTooLight | None = None):
        """The form; after a refusal *typed* holds what was sent (the colour replaced by the proposal)."""
        return self.render("admin_branding.tpl", status=status, title=self.t("Corporate identity"),
                           stored=typed or settings.read(settings.BRANDING_KEY), effective=self.brand(),
                           text_keys=settings.TEXT_KEYS, swatches=self.colour_swatches(refused),
                           samples=self.mail_samples(), message=message, failed=status != 200)

    def colour_swatches(self, refused: ColourTooLight | None) -> list[dict]:
        """The colours the preview shows: the one in effect, and after a refusal the refused one
        (as a plain swatch: no text on it) and the darker shade proposed instead."""
        colours = [(self.t("In effect"), self.brand()["color"])]
        if refused:
            colours += [(self.t("Refused"), refused.color), (self.t("Proposed"), refused.proposal)]
        return [{"label": label, "color": color, "passes": contrast.passes_with_white(color),
                 "ratio": contrast.ratio_text(contrast.ratio(color, contrast.WHITE))}
                for label, color in colours]

    def mail_samples(self) -> dict[str, str]:
        """The texts of the carrier mail and the login-data mail as recipients will read them."""
        import email
        import email.policy

        carrier = self.sample_carrier()
        login_data = mime.LoginData(
            address="recipient@example.org", password="xxxxx-xxxxx-xxxxx-xxxxx",  # nosec B106 - the preview's placeholder
            portal_url=carrier.portal_url,
            to="sender@example.com", sender=self.home.config["mail.from"], kind="relay",
            must_change=self.home.config["accounts.force_password_change"], date="", message_id="0",
            branding=carrier.branding, wording=carrier.wording,
        )
        mails = {"carrier_notice": b"".join(mime.carrier_chunks(carrier, b"preview")),
                 "login_data_intro": b"".join(mime.login_data_chunks(login_data))}
        parsed = {key: email.message_from_bytes(raw, policy=email.policy.default) for key, raw in mails.items()}
        return {key: mail.get_body(("plain",)).get_content() for key, mail in parsed.items()}

    def sample_carrier(self) -> mime.Carrier:
        return mime.Carrier(
            recipient="recipient@example.org", sender="sender@example.com", message_id="0" * 32,
            portal_url=self.home.config["portal.url"], mail_domain="example.com", date="",
            branding=self.home.config.values["branding"], copied=[], subject=b"",
            wording=wording.for_language(self.home, None),
        )

    def branding_save(self):
        texts = {lang: {key: self.form(f"text_{lang}_{key}") for key in settings.TEXT_KEYS}
                 for lang in settings.LANGUAGES}
        values = {name: self.form(name) for name in settings.BRANDING_FIELDS}
        try:
            settings.save_branding(self.home, {**values, "texts": texts}, self.actor(), self.client())
        except ColourTooLight as e:
            return self.branding_form(self.t(
                "White text on {color} has a contrast of {ratio}; at least {needed} is needed. The colour "
                "field now holds a darker shade of it that passes, {proposal}: check the preview and save "
                "again to use it.").format(color=e.color, ratio=e.ratio, needed=e.needed, proposal=e.proposal),
                status=400, typed={**values, "color": e.proposal, "texts": texts}, refused=e)
        except ConfigError as e:
            return self.branding_form(str(e), status=400, typed={**values, "texts": texts})
        return self.branding_form(self.t("Saved. Every portal node uses it from now on."))

    def branding_preview(self):
        """The secure.htm recipients get, with this branding, shown inert (sandboxed, no script)."""
        page = b"".join(mime.secure_htm_chunks(self.sample_carrier(), b"preview"))
        bottle.response.set_header("Content-Security-Policy",
                                   "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:")
        bottle.response.content_type = "text/html; charset=us-ascii"
        return page

    def settings_form(self, message: str = "", status: int = 200):
        rows = settings.describe(self.home)
        return self.render("admin_settings.tpl", status=status, title=self.t("Mail settings"), rows=rows,
                           message=message)

    def settings_save(self):
        changes = {}
        for key in settings.OVERRIDABLE:
            text = self.form(f"value_{key}").strip()
            changes[key] = None if text == "" else settings.parse_value(key, text)
        try:
            settings.save_overrides(self.home, changes, self.actor(), self.client())
        except ConfigError as e:
            return self.settings_form(str(e), status=400)
        return self.settings_form(self.t("Saved. Every portal node and mail filter uses it from now on."))

    # --- monitoring and audit ---------------------------------------------------------

    def monitoring(self):
        figures = monitor.snapshot(self.home)
        verdict = monitor.check(self.home, figures)
        return self.render("admin_monitor.tpl", title=self.t("Monitoring"), figures=figures, verdict=verdict,
                           state=monitor.STATE_NAMES[verdict.state], counters=monitor.COUNTERS)

    def audit(self):
        query = bottle.request.query
        user = query.getunicode("user", default="") or ""
        rows = auditlog.query(display.parse_day(query.get("since", "")), user, query.get("action", ""))
        return self.render("admin_audit.tpl", title=self.t("Audit trail"), rows=rows,
                           filters={"user": user, "since": query.get("since", ""), "action": query.get("action", "")})

    # --- the signed-in administrator's own second factor ------------------------------

    def second_factor_page(self, message: str = "", status: int = 200, enrolment=None, codes=()):
        """Status and changes; what an enrolment or a new set shows (QR code, secret, recovery
        codes) is rendered only in the answer to that POST, never by a later GET."""
        name = bottle.request.environ["webcrypt.session"].principal
        row = admins.describe(admins.get(name))
        label = self.t("QR code for your authenticator app")
        return self.render("admin_second_factor.tpl", status=status, title=self.t("Second factor"), row=row,
                           message=message, failed=status != 200, enrolment=enrolment,
                           qr_svg=qr.svg(enrolment.uri, label) if enrolment else "", codes=list(codes),
                           few=admins.FEW_RECOVERY_CODES)

    def second_factor_change(self):
        session = bottle.request.environ["webcrypt.session"]
        action = self.form("action")
        if action not in ("enrol", "recovery-codes", "remove"):
            raise BadRequest(self.t("Unknown action."))
        try:
            admins.confirm_password(self.home, session.principal, self.form("password"), self.client())
        except WrongPassword:
            return self.second_factor_page(self.t("The password is wrong."), status=403)
        if action == "enrol":
            enrolment = admins.enrol_totp(self.home, session.principal, self.actor(), keep=session)
            return self.second_factor_page(self.t(
                "Second factor set up. Your other console sessions were ended."), enrolment=enrolment,
                codes=enrolment.recovery_codes)
        if action == "recovery-codes":
            codes = admins.regenerate_recovery_codes(self.home, session.principal, self.actor())
            return self.second_factor_page(self.t("New recovery codes made; the earlier ones no longer work."),
                                           codes=codes)
        admins.remove_totp(self.home, session.principal, self.actor())
        return self.second_factor_page(self.t("Second factor removed: your password alone logs you in."))
