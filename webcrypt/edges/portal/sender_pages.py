"""The sender's pages (/sender): sign in with a mailed link or a passkey, the list of sent secure
mail, one message (recall, expiry, new login data for its recipient), the sender's passkeys; and
the recipient's "ask the sender for new login data" on the forgotten-password page. The checks
are senders.py's; this reads forms and renders.

A sender's session has its own kind and cookie (as the console's), so a recipient's session on
the same browser neither opens these pages nor is ended by them.
"""

import urllib.parse

import bottle

from ...base.errors import BadRequest, LoginFailed, NotFound, OtherBrowser, PasskeyRejected, SessionExpired, WebcryptError
from ...usecases import messages, passkeys, senders, sessions, throttle
from . import failures, i18n, moments, web
from .pages import Pages, page, see_other
from .passkey_pages import OPTIONS_CLIENT, default_name

KIND = senders.KIND
COOKIE = "webcrypt-sender"  # the sender's session
BROWSER = "webcrypt-sender-browser"  # binds a sign-in link to the browser that asked for it
DONE = {  # what a message page says after an action (?done=...)
    "recalled": "The message is recalled: nobody can open it any more.",
    "extended": "The new expiry date is saved.",
    "login_data": "New login data were sent.",
}
STATUS_WORDS = {
    "unopened": "not opened yet",
    "opened": "opened",
    "replied": "replied",
    "expired": "expired",
    "recalled": "recalled",
    "destroyed": "deleted",
    "recipient_disabled": "recipient disabled",
}
STATE_WORDS = {"active": "active", "locked": "locked", "disabled": "disabled", "expired": "expired",
               "deleted": "deleted"}


def install(app: bottle.Bottle, pages: Pages) -> None:
    p = SenderPages(pages)
    for path, method, handler in [
        ("/sender", "GET", p.start),
        ("/sender", "POST", p.ask_for_link),
        ("/sender/link", "GET", p.open_link),
        ("/sender/passkey/sign-in/options", "POST", p.passkey_options),
        ("/sender/passkey/sign-in", "POST", p.passkey_sign_in),
        ("/sender/messages", "GET", p.listing),
        ("/sender/message/<message_id>", "GET", p.message),
        ("/sender/message/<message_id>/recall", "GET", p.recall_form),
        ("/sender/message/<message_id>/recall", "POST", p.recall),
        ("/sender/message/<message_id>/expiry", "POST", p.extend),
        ("/sender/message/<message_id>/login-data", "POST", p.login_data),
        ("/sender/passkeys", "GET", p.passkey_list),
        ("/sender/passkey/add/options", "POST", p.add_options),
        ("/sender/passkey/add", "POST", p.add_passkey),
        ("/sender/passkey/<number>/remove", "POST", p.remove_passkey),
        ("/sender/logout", "POST", p.logout),
        ("/forgot/sender", "POST", p.ask_sender),
    ]:
        app.route(path, method, handler)


def status_text(_, row: senders.Row, show_times: bool, fmt_time) -> str:
    """A message's status in words; opening times only where the administrator lets senders see them."""
    words = _(STATUS_WORDS.get(row.status, row.status))
    record = row.record
    if row.status in ("opened", "replied") and show_times and record.first_opened:
        first = _("opened first at {first}").format(first=fmt_time(record.first_opened))
        words = first if row.status == "opened" else f"{words} · {first}"
        if record.last_opened and record.last_opened != record.first_opened:
            words += " · " + _("last at {last}").format(last=fmt_time(record.last_opened))
    return words


def subject_reader(home):
    """The sealed subject's reader, where this build and the configuration keep subjects."""
    reader = getattr(messages, "subject_of", None)
    return reader if reader is not None and home.config["senders.keep_subject"] else None


class SenderPages:
    def __init__(self, pages: Pages):
        self.pages, self.portal, self.home = pages, pages.portal, pages.home

    def client(self) -> str:
        return web.client_address(self.home)

    def translator(self):
        return i18n.translator(web.language(self.home))

    def moment_text(self):
        """Plain moments in this reader's zone and language, for the sentences status_text makes."""
        return moments.Moments(self.home, web.language(self.home)).text

    def require_enabled(self) -> None:
        if not senders.enabled(self.home):
            raise NotFound("this page does not exist")

    def page(self, name, session=None, sender=None, **values):
        return page(self.portal, name, session=session, sender=sender, **values)

    def signed_in(self) -> tuple:
        """(session, sender) for a live sender session; a GET without one goes to the sign-in
        page and comes back here after it."""
        self.require_enabled()
        session = web.current_session(self.home, KIND, COOKIE)
        sender = senders.signed_in(self.home, session.principal) if session is not None else None
        if sender is None:
            if session is not None:  # no longer a sender (domain removed): the session ends
                sessions.end(web.session_token(self.home, COOKIE))
            if bottle.request.method == "GET":
                see_other("/sender?next=" + web.quote(bottle.request.fullpath))
            raise SessionExpired("your session has ended: please sign in again")
        return session, sender

    def changing(self) -> tuple:
        session, sender = self.signed_in()
        web.require_csrf(session.csrf)
        return session, sender

    # Signing in

    def browser_secret(self) -> str:
        """The random cookie a sign-in link is bound to: set on the sign-in page, kept as it is."""
        secret = web.session_token(self.home, BROWSER)
        if not secret or len(secret) > 100:
            secret = senders.new_browser_secret()
            web.set_session_cookie(self.home, secret, BROWSER)
        return secret

    def sign_in_page(self, sent: bool = False, error: str = "", status: int = 200):
        bottle.response.status = status
        target = senders.safe_target(bottle.request.query.get("next") or web.form("next", 200))
        self.browser_secret()
        return self.page("sender_sign_in", sent=sent, error=error, target=target, pre_csrf=web.pre_csrf(self.home),
                         minutes=senders.LINK_MINUTES, origin=passkeys.relying_party(self.home).origin)

    def start(self):
        self.require_enabled()
        if web.current_session(self.home, KIND, COOKIE) is not None:
            see_other(senders.safe_target(bottle.request.query.get("next") or "") or "/sender/messages")
        return self.sign_in_page()

    def ask_for_link(self):
        """The same page for every address; a link goes only to a sender's own address."""
        self.require_enabled()
        web.require_pre_csrf(self.home)
        senders.request_link(self.home, web.form("address", 320).strip(), self.browser_secret(), self.client(),
                             web.form("next", 200))
        return self.sign_in_page(sent=True)

    def open_link(self):
        self.require_enabled()
        token = (bottle.request.query.get("token") or "")[:100]
        try:
            signed, target = senders.sign_in_with_link(self.home, token, web.session_token(self.home, BROWSER) or "",
                                                       self.client(), web.session_token(self.home, COOKIE),
                                                       web.user_agent())
        except OtherBrowser:
            bottle.response.status = 400
            return self.page("sender_other_browser")
        except LoginFailed as e:
            raise BadRequest(str(e)) from None
        web.set_session_cookie(self.home, signed.token, COOKIE)
        see_other(target or "/sender/messages")

    def passkey_options(self):
        self.require_enabled()
        web.require_pre_csrf(self.home)
        throttle.take(self.home, f"passkey-options:{throttle.client_bucket(self.client())}", OPTIONS_CLIENT)
        ceremony, options = passkeys.begin_sign_in(self.home, KIND)
        return web.ceremony_json(ceremony, options)

    def passkey_sign_in(self):
        self.require_enabled()
        web.require_pre_csrf(self.home)
        answer = passkeys.Answer(web.form("ceremony", 100), web.form("credential", passkeys.MAX_RESPONSE))
        try:
            signed = senders.sign_in_with_passkey(self.home, answer, self.client(),
                                                  web.session_token(self.home, COOKIE), web.user_agent())
        except LoginFailed as e:
            return self.sign_in_page(error=self.translator()(str(e)), status=401)
        web.set_session_cookie(self.home, signed.token, COOKIE)
        see_other(senders.safe_target(web.form("next", 200)) or "/sender/messages")

    def logout(self):
        session = web.current_session(self.home, KIND, COOKIE)
        if session is not None:
            web.require_csrf(session.csrf)
        sessions.end(web.session_token(self.home, COOKIE))
        web.clear_cookie(self.home, COOKIE)
        see_other("/sender")

    # Sent secure mail

    def search(self) -> tuple[senders.Search, dict]:
        query = bottle.request.query
        typed = {"recipient": (query.getunicode("recipient") or "")[:320], "from": (query.get("from") or "")[:10],
                 "to": (query.get("to") or "")[:10]}
        number = query.get("page") or "1"
        return senders.Search(typed["recipient"], senders.day(typed["from"]), senders.day(typed["to"], end=True),
                              int(number) if number.isdigit() and len(number) < 7 else 1), typed

    def listing(self):
        session, sender = self.signed_in()
        search, typed = self.search()
        found = senders.listing(self.home, sender.address, search)
        _ = self.translator()
        shown = {k: v for k, v in typed.items() if v}
        return self.page("sender_messages", session=session, sender=sender, found=found, typed=typed,
                         page_link=lambda number: "/sender/messages?" + urllib.parse.urlencode({**shown, "page": number}),
                         words=lambda row: status_text(_, row, self.home.config["senders.show_opening_times"],
                                                       self.moment_text()),
                         subject_of=self.subject_of())

    def subject_of(self):
        reader = subject_reader(self.home)
        return (lambda record: reader(self.home, record)) if reader else None

    # One message and what the sender may do with it

    def message(self, message_id, error: str = "", status: int = 200):
        session, sender = self.signed_in()
        row = senders.own_message(self.home, sender.address, message_id)
        _ = self.translator()
        done = DONE.get(bottle.request.query.get("done") or "")
        bottle.response.status = status
        return self.page("sender_message", session=session, sender=sender, row=row, error=error,
                         notice=_(done) if done and not error else "",
                         words=status_text(_, row, self.home.config["senders.show_opening_times"], self.moment_text()),
                         state=_(STATE_WORDS[row.recipient_state]), subject_of=self.subject_of(),
                         max_days=senders.max_days(self.home), login_data=senders.login_data_allowed(self.home))

    def recall_form(self, message_id):
        session, sender = self.signed_in()
        row = senders.own_message(self.home, sender.address, message_id)
        return self.page("sender_recall", session=session, sender=sender, row=row)

    def recall(self, message_id):
        _session, sender = self.changing()
        senders.recall(self.home, sender.address, message_id, self.client())
        see_other(f"/sender/message/{web.quote(message_id)}?done=recalled")

    def extend(self, message_id):
        _session, sender = self.changing()
        days = web.form("days", 10).strip()
        try:
            if not days.isdigit():
                raise BadRequest("the number of days is outside what is allowed")
            senders.extend(self.home, sender.address, message_id, int(days), self.client())
        except WebcryptError as e:
            return self.failed_action(message_id, e)
        see_other(f"/sender/message/{web.quote(message_id)}?done=extended")

    def login_data(self, message_id):
        _session, sender = self.changing()
        try:
            senders.send_login_data(self.home, sender.address, message_id, self.client())
        except WebcryptError as e:
            return self.failed_action(message_id, e)
        see_other(f"/sender/message/{web.quote(message_id)}?done=login_data")

    def failed_action(self, message_id: str, error: WebcryptError):
        """Nothing was changed: the message page again, saying why (a message that is not the
        sender's stays a plain 404)."""
        status = failures.status_of(error)
        if status == 404:
            raise error
        if status == 429:
            bottle.response.headers["Retry-After"] = "3600"
        return self.message(message_id, error=failures.explain(error, status, self.translator()), status=status)

    # The sender's passkeys

    def passkey_list(self, notice: str = "", error: str = "", status: int = 200):
        session, sender = self.signed_in()
        bottle.response.status = status
        return self.page("sender_passkeys", session=session, sender=sender, notice=notice, error=error,
                         passkeys=passkeys.of(KIND, sender.address), origin=passkeys.relying_party(self.home).origin)

    def add_options(self):
        _session, sender = self.changing()
        ceremony, options = passkeys.begin_registration(self.home, KIND, sender.address, sender.address)
        return web.ceremony_json(ceremony, options)

    def add_passkey(self):
        _session, sender = self.changing()
        _ = self.translator()
        try:
            passkeys.finish_registration(self.home, KIND, sender.address, web.form("ceremony", 100),
                                         web.form("credential", passkeys.MAX_RESPONSE),
                                         web.form("name", 200) or default_name(), self.client(),
                                         senders.actor(sender.address))
        except PasskeyRejected:
            return self.passkey_list(error=_("The passkey could not be added. Please try again."), status=400)
        return self.passkey_list(notice=_("Your passkey is added. Next time, sign in with it."))

    def remove_passkey(self, number):
        _session, sender = self.changing()
        passkeys.remove(self.home, KIND, sender.address, number, self.client(), senders.actor(sender.address))
        return self.passkey_list(notice=self.translator()("The passkey is removed."))

    # The recipient's "ask the sender for new login data" (forgotten-password page)

    def ask_sender(self):
        web.require_pre_csrf(self.home)
        if not senders.ask_offered(self.home):
            raise NotFound("this page does not exist")
        senders.ask_sender(self.home, web.form("address", 320).strip(), self.client())
        return self.pages.page("forgot_asked")
