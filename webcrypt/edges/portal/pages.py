"""The recipient's pages: open, log in, read, download, reply, profile, password.

Each handler reads the form, calls one use case (login, inbox, reading, reply)
and renders a template. Errors are raised and turned into pages by app.py.
"""

import re
import urllib.parse
from typing import Iterator

import bottle

from ...base.errors import (
    AccountDisabled,
    BadRequest,
    EnvelopeError,
    LoginFailed,
    NotFound,
    PasswordRejected,
    SessionExpired,
    Throttled,
    WebcryptError,
)
from ...core import contrast, mime
from ...infra import store
from ...usecases import accounts, inbox, login, mail_codes, passkeys, reading, reply, senders, sessions, throttle
from . import accessibility, failures, i18n, moments, web

KIND = accounts.KIND
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_NOT_BLANK = re.compile(rb"\S")
# The notice the profile shows after sessions were ended (?ended=...).
ENDED = {"one": "The session was ended.", "others": "All your other sessions were ended."}
# Said when a login or a password change finds that the message the reader had open has closed.
CLOSED = ("The message you had open was closed after {minutes} minutes to protect it. It has not been "
          "deleted: open the file secure.htm in your mail again to read it.")
# The messages this browser opened (upload ids, newest last), so that a login after an ended
# session or a recovered password leads back to the message. An id alone opens nothing: reading
# needs the recipient's login, and a login goes only to an upload addressed to that account.
OPENED = "webcrypt-opened"
OPENED_KEPT = 5
# The cookie outlives the uploads by this long, so the login page can say that the message closed.
OPENED_GRACE = 3600
FORGOT_CLIENT = throttle.Rule(limit=20, window=3600, block=3600)
OPEN_CLIENT = throttle.Rule(limit=120, window=3600, block=3600)  # secure.htm uploads per client and hour


def new_cache(home) -> inbox.ViewCache | None:
    seconds = home.config["portal.view_cache_seconds"]
    return inbox.ViewCache(seconds) if seconds else None


def install(app: bottle.Bottle, portal: web.Portal) -> "Pages":
    p = Pages(portal)
    routes = [
        ("/", "GET", p.index),
        ("/open", "POST", p.open_),
        ("/login", "GET", p.login_form),
        ("/login", "POST", p.login),
        ("/login/code", "GET", p.code_form),
        ("/login/code", "POST", p.send_code),
        ("/login/code/enter", "POST", p.login_by_code),
        ("/logout", "POST", p.logout),
        ("/message/<upload>", "GET", p.read),
        ("/message/<upload>/body", "GET", p.body),
        ("/message/<upload>/print", "GET", p.print_view),
        ("/message/<upload>/part/<index:int>", "GET", p.part),
        ("/message/<upload>/eml", "GET", p.eml),
        ("/message/<upload>/reply", "GET", p.reply_form),
        ("/message/<upload>/reply", "POST", p.reply),
        ("/message/<upload>/replied", "GET", p.replied),
        ("/profile", "GET", p.profile),
        ("/profile/language", "POST", p.set_language),
        ("/profile/question", "POST", p.set_question),
        ("/profile/sessions/end", "POST", p.end_session),
        ("/profile/sessions/end-others", "POST", p.end_other_sessions),
        ("/password", "GET", p.password_form),
        ("/password", "POST", p.change_password),
        ("/forgot", "GET", p.forgot_form),
        ("/forgot", "POST", p.forgot),
        ("/forgot/answer", "GET", p.forgot_link),
        ("/forgot/answer", "POST", p.forgot_answer),
        ("/privacy", "GET", p.privacy),
        ("/accessibility", "GET", p.accessibility),
    ]
    for path, method, handler in routes:
        app.route(path, method, handler)
    for legacy in portal.home.config["portal.legacy_urls"]:
        prefix = urllib.parse.urlsplit(legacy).path.rstrip("/")
        if prefix:  # an old URL with a path: answer there too (hosts are matched by the proxy)
            for path, method, handler in routes:
                app.route(prefix + path, method, handler)
    return p


def branding(portal: web.Portal) -> dict:
    """The corporate identity as every process sees it: [branding] of the file with the console's
    settings over it (Home.refresh_settings, at most app.SETTINGS_SECONDS old); ``texts`` holds the
    organisation's own words per language (``portal_welcome`` on the start and login pages)."""
    base = portal.home.config.values["branding"]
    value = {k: str(base.get(k) or "") for k in ("name", "organisation", "logo_url", "color")}
    value["texts"] = base.get("texts") if isinstance(base.get("texts"), dict) else {}
    value["color"] = contrast.readable_brand(value["color"])  # white text on it: 4.5:1 at least
    if not value["logo_url"].startswith(("https://", "http://")):
        value["logo_url"] = ""
    return value


def welcome(brand: dict, lang: str) -> str:
    return own_words(brand, lang, "portal_welcome")


def own_words(brand: dict, lang: str, key: str) -> str:
    """The organisation's text *key* (settings.TEXT_KEYS) in *lang*; "" when it set none."""
    texts = brand["texts"].get(lang)
    return str(texts.get(key) or "") if isinstance(texts, dict) else ""


def choice_to_keep(home, recipient) -> str | None:
    """The language the reader chose in this browser, kept for the account like the profile's choice:
    the header's language link of this request, or, for an account without a choice of its own,
    the browser's earlier one (secure.htm's language buttons, a link before logging in)."""
    asked = i18n.valid(bottle.request.query.get("lang"))
    if asked or i18n.valid(recipient.language):
        return asked
    return web.chosen_language(home)


def keep_language_choice(home, recipient, lang: str) -> None:
    """One rule for the language: a signed-in reader who picks one in the header picks it for the
    account (the profile shows it, mails follow it), on every page, also those that do not name the
    reader (an error page, the privacy page); signing in brings the account's to the browser
    (Pages.signed_in_browser); signed out, the browser's choice and Accept-Language decide."""
    if recipient is None and i18n.valid(bottle.request.query.get("lang")):
        recipient = signed_in_reader(home)
    if recipient is not None and recipient.language != lang and choice_to_keep(home, recipient) == lang:
        accounts.set_language(recipient, lang)


def signed_in_reader(home):
    """The reader this browser is signed in as, or None (also when the database cannot say: an
    error page must still be shown)."""
    try:
        session = web.current_session(home, KIND)
        return accounts.find(session.principal) if session is not None else None
    except store.DatabaseError:
        return None


def with_chosen_language(location: str) -> str:
    """*location* passing on the language this request chose (a language button of secure.htm)."""
    asked = i18n.valid(bottle.request.query.get("lang"))
    if not asked:
        return location
    return f"{location}{'&' if '?' in location else '?'}lang={asked}"


def page(portal: web.Portal, name: str, recipient=None, session=None, lang=None, **values) -> str:
    home = portal.home
    lang = lang or web.language(home, recipient)
    keep_language_choice(home, recipient, lang)
    nonce = web.new_nonce()
    brand = with_own_text(branding(portal), lang)
    web.security_headers(nonce, extra_img=web.logo_origin(brand.get("logo_url", "")))
    return web.render(
        name, _=i18n.translator(lang), lang=lang, brand=brand, welcome=welcome(brand, lang), nonce=nonce,
        contact=own_words(brand, lang, "contact"),
        recipient=recipient,
        session=session, csrf=session.csrf if session else "", path=bottle.request.path,
        request_method_get=bottle.request.method == "GET", language_link=web.language_link,
        **moments.template_values(home, lang), **values,
    )


def with_own_text(brand: dict, lang: str) -> dict:
    """The console's portal text (settings "portal_welcome") in the reader's language, as brand["text"]."""
    texts = brand.get("texts") if isinstance(brand.get("texts"), dict) else {}
    own = (texts.get(lang) or {}).get("portal_welcome")
    return {**brand, "text": own} if own else brand


def see_other(location: str):
    """303 with a relative Location: never built from Host or X-Forwarded-Host."""
    response = bottle.response.copy(cls=bottle.HTTPResponse)  # keeps cookies set on this request
    response.status = 303
    response.body = ""
    response.set_header("Location", location)
    response.set_header("Cache-Control", "no-store")
    raise response


def usable(home, recipient: store.Recipient) -> bool:
    try:
        accounts.check_usable(home, recipient)
    except AccountDisabled:
        return False
    return True


def upload_id(value: str | None) -> str | None:
    return value if value and _UPLOAD_ID.match(value) else None


_MESSAGE_PATH = re.compile(r"/message/([0-9a-f]{32})(?:/|$)")


def message_in_path(path: str) -> str | None:
    """The upload of a /message/<upload>... path (an error page's login link leads back to it)."""
    found = _MESSAGE_PATH.search(path)
    return found.group(1) if found else None


def opened_uploads(home) -> list[str]:
    """The uploads this browser opened, oldest first (only well-formed ids)."""
    value = web.session_token(home, OPENED) or ""
    return [u for u in value.split(".")[-OPENED_KEPT:] if upload_id(u)]


def remember_opened(home, upload: str) -> None:
    kept = [u for u in opened_uploads(home) if u != upload] + [upload]
    seconds = home.config["portal.upload_minutes"] * 60 + OPENED_GRACE
    web.set_session_cookie(home, ".".join(kept[-OPENED_KEPT:]), name=OPENED, max_age=seconds)


class Pages:
    def __init__(self, portal: web.Portal):
        self.portal = portal
        self.home = portal.home

    # Sessions

    def signed_in(self, allow_must_change: bool = False):
        session = web.current_session(self.home, KIND)
        if session is None:
            raise SessionExpired("your session has ended: please log in again")
        recipient = accounts.find(session.principal)
        if recipient is None or not usable(self.home, recipient):  # disabled, or past its validity
            sessions.end(web.session_token(self.home))
            raise SessionExpired("your session has ended: please log in again")
        if recipient.must_change_password and not allow_must_change and not self.by_code(session):
            see_other("/password")  # a code is a way in of its own: no password is forced on its holder
        return session, recipient

    @staticmethod
    def by_code(session) -> bool:
        return login.signed_in_by_code(sessions.data(session))

    def page(self, name, recipient=None, session=None, **values):
        return page(self.portal, name, recipient=recipient, session=session, **values)

    def drop_cache(self, session) -> None:
        if self.portal.cache is not None:
            self.portal.cache.drop(session.id_hash)

    def uploads(self, session) -> list[str]:
        return [u for u in sessions.data(session).get("uploads", []) if upload_id(u)]

    def owned(self, session, upload: str) -> str:
        if upload not in self.uploads(session):
            raise NotFound("this message is no longer open here: please open the file secure.htm again")
        return upload

    # Open and log in

    def index(self):
        session = web.current_session(self.home, KIND)
        if session is not None:
            see_other("/profile")
        return self.page("index", bye=bottle.request.query.get("bye") == "1")

    def open_(self):
        text = web.posted_value("envelope")  # read in pieces: the envelope may be tens of MB
        if not _NOT_BLANK.search(text):
            raise EnvelopeError("no message was sent: please open the file secure.htm again")
        throttle.take(self.home, f"open-client:{throttle.client_bucket(web.client_address(self.home))}", OPEN_CLIENT)
        data = mime.decode_envelope_text(text)
        del text  # the base64 text is not needed beside the envelope while it is stored
        upload, _record = inbox.accept(self.home, data)
        remember_opened(self.home, upload)
        see_other(with_chosen_language(f"/login?upload={upload}"))

    def login_form(self, error: str = "", address: str = "", lock: list[str] | None = None):
        asked = upload_id(bottle.request.query.get("upload") or web.form("upload", 40))
        session = web.current_session(self.home, KIND)
        if session is not None and asked and not error:
            self.attach(session, asked)
            see_other(with_chosen_language(f"/message/{asked}"))
        upload, record, closed = self.returning_to(asked)
        return self.page(
            "login", upload=upload, record=record, error=error, address=address, closed=closed, lock=lock or [],
            ask_sender=bool(lock) and senders.ask_offered(self.home),
            upload_minutes=self.home.config["portal.upload_minutes"],
            pre_csrf=web.pre_csrf(self.home), questions=self.home.config["portal.password_questions"],
            codes=login.codes_offered(self.home),
            origin=passkeys.relying_party(self.home).origin,
        )

    def login_refused(self, error, address: str):
        """The login form again after a failure, keeping the address and the message it leads to;
        saying how many attempts are left once few are, or until when logging in is locked, and
        what else the reader can do."""
        bottle.response.status = failures.status_of(error)
        lang = web.language(self.home)
        lock = moments.Moments(self.home, lang).lock_sentences(error, self.home.config["throttle.login_block_minutes"])
        until = getattr(error, "until", None)
        if until:
            bottle.response.headers["Retry-After"] = str(max(1, until - self.home.now()))
        said = "" if isinstance(error, Throttled) and lock else i18n.translator(lang)(str(error))
        if said and lock and not said.endswith((".", "!", "?")):
            said += "."  # a sentence follows
        return self.login_form(error=said, address=address, lock=lock)

    def returning_to(self, asked: str | None):
        """(upload, its record, closed) for the login form: the upload asked for, else the newest
        this browser opened that is still open (a session that ended, a recovered password, a
        lock that was lifted all come back here without one); *closed* when the message the
        reader had open has expired in the meantime, so the page can say so."""
        candidates = [asked] if asked else opened_uploads(self.home)[::-1]
        for upload in candidates:
            record = inbox.record_of(self.home, upload)
            if record is not None:
                if asked:
                    remember_opened(self.home, upload)
                return upload, record, False
        # kept in the form all the same: after the login, the profile says again what became of it
        return (candidates[0] if candidates else None), None, bool(candidates)

    def return_to(self, session, recipient) -> str:
        """Where a login or a password change continues: the newest message this session may
        read for this recipient; else the profile, saying when the message has closed since.
        Only ever a /message/<32 hex> path of the session's own uploads: never an open redirect."""
        closed = False
        for upload in reversed(self.uploads(session)):
            record = inbox.record_of(self.home, upload)
            if record is None:
                closed = True
            elif record.recipient == recipient.address:  # a browser shared with another reader keeps theirs
                return f"/message/{upload}"
        return "/profile?closed=1" if closed else "/profile"

    def attach(self, session, upload: str) -> None:
        def with_upload(data: dict) -> dict:
            return {**data, "uploads": ([u for u in data.get("uploads", []) if u != upload] + [upload])[-20:]}

        sessions.change_data(session, with_upload)

    def login(self):
        web.require_pre_csrf(self.home)
        address, password = web.form("address", 320).strip(), web.form("password", 1000)
        upload = upload_id(web.form("upload", 40))
        try:
            signed = login.login(self.home, address, password, web.client_address(self.home),
                                 replacing=web.session_token(self.home), uploads=[upload] if upload else [],
                                 user_agent=web.user_agent())
        except (LoginFailed, Throttled) as e:  # the form again, keeping the message it leads to
            return self.login_refused(e, address)
        self.signed_in_browser(signed)
        if signed.account.must_change_password:
            see_other("/password")
        see_other(self.return_to(signed.session, signed.account))

    def signed_in_browser(self, signed) -> None:
        """The new session's cookie, and the account's language for this browser: the language the
        reader chose (in the profile or the header, on any device) is the one they see from now on,
        also on the pages before the next login."""
        web.set_session_cookie(self.home, signed.token)
        if i18n.valid(signed.account.language):
            web.remember_language(self.home, signed.account.language)

    def offer_passkey(self, recipient) -> bool:
        """The passkey offer, on the first page a recipient who has none reads (the message or
        the profile), once: whoever says "not now" is not asked again at every login."""
        if recipient.must_change_password or not login.offer_passkey(self.home, recipient):
            return False
        accounts.note_passkey_offered(self.home, recipient)
        return True

    # Sign-in code by mail (an administrator's choice per recipient domain)

    def code_form(self):
        """Step 1: the address to mail a code to. Offered whenever any domain allows codes: the page
        cannot know the account; whether one is sent is decided per address on submit."""
        if not login.codes_offered(self.home):
            raise NotFound("this page does not exist")
        upload = upload_id(bottle.request.query.get("upload"))
        return self.page("login_code", upload=upload, sent=False, address="", error="",
                         pre_csrf=web.pre_csrf(self.home), minutes=mail_codes.MINUTES)

    def send_code(self):
        """Step 2: the same page for every address; a code goes only to an account that may use one."""
        web.require_pre_csrf(self.home)
        address, upload = web.form("address", 320).strip(), upload_id(web.form("upload", 40))
        login.request_code(self.home, address, web.client_address(self.home))
        return self.code_entry(address, upload)

    def code_entry(self, address: str, upload: str | None, error: str = ""):
        return self.page("login_code", upload=upload, sent=True, address=address, error=error,
                         pre_csrf=web.pre_csrf(self.home), minutes=mail_codes.MINUTES)

    def login_by_code(self):
        """Step 3: the code; a session exactly as after a password, with the upload attached."""
        web.require_pre_csrf(self.home)
        address, upload = web.form("address", 320).strip(), upload_id(web.form("upload", 40))
        try:
            signed = login.login_with_code(self.home, address, web.form("code", 40), web.client_address(self.home),
                                           replacing=web.session_token(self.home), uploads=[upload] if upload else [])
        except LoginFailed as e:
            bottle.response.status = 401
            return self.code_entry(address, upload, error=i18n.translator(web.language(self.home))(str(e)))
        self.signed_in_browser(signed)
        see_other(self.return_to(signed.session, signed.account))

    def logout(self):
        session = web.current_session(self.home, KIND)
        if session is not None:
            web.require_csrf(session.csrf)
            self.drop_cache(session)
        sessions.end(web.session_token(self.home))
        web.clear_cookie(self.home, web.SESSION)
        web.clear_cookie(self.home, OPENED)  # whoever uses this browser next is led to nothing
        see_other("/?bye=1")

    # Reading

    def opened_view(self, session, recipient, upload: str):
        self.owned(session, upload)
        return inbox.view(self.home, recipient, upload, self.portal.cache, session.id_hash)

    def reading(self, upload):
        """(session, recipient, view, record); a reload within seconds needs only the session lookup."""
        session = web.current_session(self.home, KIND)
        hit = inbox.cached(self.home, self.portal.cache, session.id_hash, upload) if session else None
        if hit is not None:
            return session, hit[2], hit[0], hit[1]
        session, recipient = self.signed_in()
        view, record = self.opened_view(session, recipient, upload)
        return session, recipient, view, record

    def read(self, upload):
        session, recipient, view, record = self.reading(upload)
        return self.page("read", recipient=recipient, session=session, view=view, record=record, upload=upload,
                         offer_passkey=self.offer_passkey(recipient), origin=passkeys.relying_party(self.home).origin)

    def body(self, upload):
        """The sanitised HTML body for the message page's frame. Same origin (allow-same-origin)
        only so the page's static/frame.js can read its height; never script: no script-src under
        default-src 'none', and a sandbox without allow-scripts here and on the iframe (frame.js
        says why that keeps the mail away from the page)."""
        _session, _recipient, view, _record = self.reading(upload)
        nonce = web.new_nonce()
        web.set_common_headers(
            f"default-src 'none'; img-src data:; style-src 'nonce-{nonce}'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'self'; "
            "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox"
        )
        bottle.response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return web.render("body", html=view.html or "", nonce=nonce)

    def print_view(self, upload):
        """The message as one page for the printer: headers, the whole body and the attachment
        list, without the portal around it. An HTML body is shown inline here (a frame prints only
        what it shows), so the page gets the body frame's own strict policy: no styles but its own,
        no images but inline ones, no forms, and a sandbox; its one script is the Print button's."""
        session, recipient, view, record = self.reading(upload)
        lang = web.language(self.home, recipient)
        nonce = web.new_nonce()
        web.set_common_headers(
            f"default-src 'none'; img-src data:; style-src 'self' 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
            "sandbox allow-scripts allow-modals allow-popups allow-popups-to-escape-sandbox"
        )
        return web.render("print", _=i18n.translator(lang), lang=lang, nonce=nonce, brand=branding(self.portal),
                          view=view, record=record, upload=upload, **moments.template_values(self.home, lang))

    def part(self, upload, index):
        session, recipient = self.signed_in()
        opened = inbox.open_upload(self.home, recipient, self.owned(session, upload))
        found = reading.attachment(opened.message, index)
        if found is None:
            raise NotFound("this attachment does not exist")
        described, data = found
        return download(data, described.filename, described.content_type)

    def eml(self, upload):
        session, recipient = self.signed_in()
        opened = inbox.open_upload(self.home, recipient, self.owned(session, upload))
        subject = mime.first(mime.fields(opened.message), "subject")
        name = reading.safe_filename(mime.decoded(subject.value) if subject else "")[:80] or "message"
        return download(opened.message, name + ".eml", "message/rfc822")

    # Replying

    def reply_form(self, upload, error: str = "", draft=None):
        session, recipient = self.signed_in()
        view, record = self.opened_view(session, recipient, upload)
        copies = reply.internal_copies(self.home, view, record, recipient.address)
        intro = moments.Moments(self.home, web.language(self.home, recipient)).quote_intro(view.date)
        draft = draft or reply.Draft(reply.subject_for(view.subject), reply.quoted(view, intro), [], [])
        return self.page(
            "reply", recipient=recipient, session=session, view=view, record=record, upload=upload,
            copies=copies, draft=draft, error=error, limit=self.home.config["portal.reply_max_size"],
        )

    def reply(self, upload):
        session, recipient = self.signed_in()
        web.require_csrf(session.csrf)
        view, record = self.opened_view(session, recipient, upload)
        forms = bottle.request.forms.decode()
        draft = reply.Draft(
            subject=web.form("subject", 1000),
            text=web.form("text", self.home.config["portal.reply_max_size"]).replace("\r\n", "\n"),
            cc=[c for c in forms.getall("cc") if c][:50],
            attachments=attached_files(),
        )
        try:
            reply.send(self.home, recipient.address, record, view, draft, web.client_address(self.home))
        except WebcryptError as e:  # nothing was sent: show the form again with what was typed
            status = failures.status_of(e)
            bottle.response.status = status
            if status == 429:
                bottle.response.headers["Retry-After"] = "3600"
            _ = i18n.translator(web.language(self.home, recipient))
            return self.reply_form(upload, error=failures.explain(e, status, _), draft=draft)
        see_other(f"/message/{upload}/replied")

    def replied(self, upload):
        session, recipient = self.signed_in()
        self.owned(session, upload)
        return self.page("replied", recipient=recipient, session=session, upload=upload)

    # Profile and password

    def profile(self, notice: str = "", error: str = ""):
        session, recipient = self.signed_in()
        _ = i18n.translator(web.language(self.home, recipient))
        if not notice and bottle.request.query.get("ended") in ENDED:
            notice = _(ENDED[bottle.request.query.get("ended")])
        opened, closed = inbox.listing(self.home, self.portal.cache, session.id_hash, self.uploads(session),
                                       recipient.address)
        if not notice and closed and bottle.request.query.get("closed") == "1":
            notice = _(CLOSED).format(minutes=self.home.config["portal.upload_minutes"])
        return self.page(
            "profile", recipient=recipient, session=session, notice=notice, error=error,
            previous_login=sessions.data(session).get("previous_login"),
            opened=opened, questions=self.home.config["portal.password_questions"],
            passkeys=passkeys.of(KIND, recipient.address), origin=passkeys.relying_party(self.home).origin,
            offer_passkey=not notice and not error and self.offer_passkey(recipient),
            active_sessions=sessions.listing(self.home, KIND, recipient.address, session),
        )

    def end_session(self):
        session, recipient = self.signed_in()
        web.require_csrf(session.csrf)
        try:
            ended = sessions.end_one(self.home, session, web.form("session", 40), web.client_address(self.home))
        except (BadRequest, NotFound) as e:  # nothing was ended: the list again, saying why
            bottle.response.status = failures.status_of(e)
            return self.profile(error=i18n.translator(web.language(self.home, recipient))(str(e)))
        self.drop_cache(ended)
        see_other("/profile?ended=one")

    def end_other_sessions(self):
        session, _recipient = self.signed_in()
        web.require_csrf(session.csrf)
        for ended in sessions.end_others(self.home, session, web.client_address(self.home)):
            self.drop_cache(ended)
        see_other("/profile?ended=others")

    def set_language(self):
        session, recipient = self.signed_in()
        web.require_csrf(session.csrf)
        chosen = i18n.valid(web.form("language", 8))
        if chosen is None:
            raise BadRequest("this language is not available")
        accounts.set_language(recipient, chosen)
        web.remember_language(self.home, chosen)  # the header's links and the profile agree
        see_other("/profile")

    def set_question(self):
        session, recipient = self.signed_in()
        web.require_csrf(session.csrf)
        if not self.home.config["portal.password_questions"]:
            raise NotFound("this page does not exist")
        _ = i18n.translator(web.language(self.home, recipient))
        try:
            login.set_question(self.home, recipient, web.form("password", 1000), web.form("question", 1000),
                               web.form("answer", 1000), web.client_address(self.home))
        except PasswordRejected as e:
            bottle.response.status = 400
            return self.profile(error=_(str(e)))
        return self.profile(notice=_("Your confidential question is saved."))

    def password_form(self, problems: tuple = (), kept: dict | None = None):
        session, recipient = self.signed_in(allow_must_change=True)
        data = sessions.data(session)
        first_by_code = self.by_code(session) and recipient.must_change_password
        _ = i18n.translator(web.language(self.home, recipient))
        errors = {}
        for problem in problems:  # the first problem of each field, in the reader's language
            errors.setdefault(problem.field, password_problem_text(problem, _))
        return self.page("password", recipient=recipient, session=session, errors=errors, kept=kept or {},
                         ask_current=not recipient.password_off and login.asks_current(self.home, recipient, data),
                         forced=recipient.must_change_password and not first_by_code, first_by_code=first_by_code,
                         minimum=login.MIN_LENGTH)

    def change_password(self):
        session, recipient = self.signed_in(allow_must_change=True)
        web.require_csrf(session.csrf)
        new, repeat, client = web.form("new", 1000), web.form("repeat", 1000), web.client_address(self.home)
        try:
            if recipient.password_off:  # signed in with a passkey: there is no current password to ask
                login.set_first_password(self.home, recipient, new, repeat, client)
            else:
                login.change_password(self.home, recipient, web.form("current", 1000), new, repeat, client,
                                      sessions.data(session))
        except PasswordRejected as e:
            bottle.response.status = 400
            return self.password_form(e.problems, kept_passwords(e.problems, new, repeat))
        # Every session ended with the change; this browser continues in a new one.
        self.drop_cache(session)
        token, fresh = sessions.continued(self.home, session)
        web.set_session_cookie(self.home, token)
        see_other(self.return_to(fresh, recipient))

    # What the sender of a message sees of its recipient (data protection)

    def privacy(self):
        config = self.home.config
        return self.page("privacy", senders=config["senders.enabled"], times=config["senders.show_opening_times"],
                         subjects=config["senders.keep_subject"])

    def accessibility(self):
        """The accessibility statement, rendered from the lists the browser tests iterate."""
        brand = branding(self.portal)
        return self.page("accessibility", statement=accessibility, url=self.home.config["portal.url"],
                         organisation=brand["organisation"] or brand["name"],
                         language_names=list(i18n.LANGUAGES.values()))

    # Forgotten password

    def forgot_form(self):
        return self.page("forgot", pre_csrf=web.pre_csrf(self.home), enabled=self.home.config["portal.password_questions"],
                         ask_sender=senders.ask_offered(self.home))

    def forgot(self):
        """Step 1: the same answer for every address; a link goes to an account's own address."""
        web.require_pre_csrf(self.home)
        if not self.home.config["portal.password_questions"]:
            return self.forgot_form()
        client = web.client_address(self.home)
        throttle.take(self.home, f"forgot-client:{throttle.client_bucket(client)}", FORGOT_CLIENT)
        login.request_recovery(self.home, web.form("address", 320).strip(), client)
        return self.page("forgot_sent", minutes=login.RECOVERY_MINUTES)

    def forgot_link(self):
        """Step 2, from the mailed link: the question."""
        token = (bottle.request.query.get("token") or "")[:100]
        question = login.recovery_question(self.home, token)
        return self.page("forgot_answer", token=token, question=question, error="", pre_csrf=web.pre_csrf(self.home))

    def forgot_answer(self):
        """Step 3: a right answer gives a new generated password, shown once."""
        web.require_pre_csrf(self.home)
        token = web.form("token", 100)
        _ = i18n.translator(web.language(self.home))
        try:
            new = login.recover(self.home, token, web.form("answer", 1000), web.client_address(self.home))
        except LoginFailed as e:
            bottle.response.status = 401
            return self.page("forgot_answer", token=token, question=login.recovery_question(self.home, token),
                             error=_(str(e)), pre_csrf=web.pre_csrf(self.home))
        return self.page("forgot_done", password=new.password, address=new.address)


def password_problem_text(problem: PasswordRejected, _) -> str:
    """A password problem in the reader's language, its numbers filled in after translation."""
    text = _(problem.template).format(**problem.values)
    return text[:1].upper() + text[1:]


def kept_passwords(problems: tuple, new: str, repeat: str) -> dict:
    """What the password form shows again after a refusal: the new password (and its repetition)
    when the refusal is not about it, so that a wrong current password or a mistyped repetition
    does not cost the reader the password they chose or a manager suggested. Safe enough: it goes
    back only to the browser that just sent it, inside a type=password field, on a page that is
    never stored (web.set_common_headers: Cache-Control: no-store) and carries no third-party
    content (CSP). The current password is never sent back: it is the one that opens the account
    now, and every try of it is counted."""
    wrong = {problem.field for problem in problems}
    if "new" in wrong:
        return {}
    return {"new": new} if "repeat" in wrong else {"new": new, "repeat": repeat}


def attached_files() -> list[reply.Attached]:
    """The uploaded files with their names as sent (reply.compose refuses control characters in
    them and keeps only a safe file name)."""
    result = []
    for item in bottle.request.files.getall("attachment")[:20]:
        name = item.raw_filename if isinstance(item.raw_filename, str) else ""
        data = item.file.read()
        if data or name:
            result.append(reply.Attached(name or "attachment.bin", data))
    return result


def download(data, filename: str, content_type: str):
    safe = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    quoted = urllib.parse.quote(filename, safe="")
    headers = bottle.response.headers
    if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", content_type):
        content_type = "application/octet-stream"
    bottle.response.content_type = content_type
    headers["Content-Disposition"] = f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quoted}"
    web.set_common_headers("default-src 'none'; sandbox; frame-ancestors 'none'")
    headers["Content-Length"] = str(len(data))
    return in_pieces(data)


DOWNLOAD_PIECE = 1 << 20


def in_pieces(data) -> Iterator[bytes]:
    """A body for bottle (which takes bytes, not a bytearray) without one more copy of it
    whole: slices of a MiB, each made as the server writes it."""
    view = memoryview(data).cast("B")
    return (bytes(view[start:start + DOWNLOAD_PIECE]) for start in range(0, len(view), DOWNLOAD_PIECE))
