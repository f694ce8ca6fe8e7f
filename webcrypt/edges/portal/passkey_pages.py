"""The recipient's passkey pages: sign in with one (from the login page, with or without the
address typed first), the offer after a password login, and the profile's list (add, rename,
remove, password off). The browser side is static/passkey.js; the checks are passkeys.py's.
"""

import bottle

from ...base.errors import BadRequest, LoginFailed, PasskeyRejected
from ...core import useragent
from ...usecases import login, passkeys, sessions, throttle
from . import i18n, web
from .pages import KIND, Pages, see_other, upload_id

OPTIONS_CLIENT = throttle.Rule(limit=60, window=600, block=600)  # ceremonies a client may begin


def install(app: bottle.Bottle, pages: Pages) -> None:
    p = PasskeyPages(pages)
    for path, method, handler in [
        ("/passkey/sign-in/options", "POST", p.sign_in_options),
        ("/passkey/sign-in", "POST", p.sign_in),
        ("/passkey/add/options", "POST", p.add_options),
        ("/passkey/add", "POST", p.add),
        ("/passkey/<number>/rename", "POST", p.rename),
        ("/passkey/<number>/remove", "POST", p.remove),
        ("/profile/password-off", "POST", p.password_off),
    ]:
        app.route(path, method, handler)


def safe_target(value: str) -> str:
    """A page of this portal to continue to (the message that was open), never another site."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:200]
    return "/profile"


class PasskeyPages:
    def __init__(self, pages: Pages):
        self.pages, self.home = pages, pages.home

    def client(self) -> str:
        return web.client_address(self.home)

    # Signing in (no session yet: the login page's double-submit CSRF token)

    def sign_in_options(self):
        web.require_pre_csrf(self.home)
        throttle.take(self.home, f"passkey-options:{throttle.client_bucket(self.client())}", OPTIONS_CLIENT)
        typed = web.form("address", 320).strip()
        ceremony, options = passkeys.begin_sign_in(self.home, KIND, login.normalised_or_blank(typed))
        return web.ceremony_json(ceremony, options)

    def sign_in(self):
        web.require_pre_csrf(self.home)
        upload = upload_id(web.form("upload", 40))
        answer = passkeys.Answer(web.form("ceremony", 100), web.form("credential", passkeys.MAX_RESPONSE))
        try:
            signed = login.login_with_passkey(self.home, answer, self.client(), replacing=web.session_token(self.home),
                                              uploads=[upload] if upload else [], user_agent=web.user_agent())
        except LoginFailed as e:
            return self.pages.login_refused(e, "")
        self.pages.signed_in_browser(signed)
        see_other(self.pages.return_to(signed.session, signed.account))

    # The profile's passkeys (a session and its CSRF token)

    def add_options(self):
        session, recipient = self.pages.signed_in()
        web.require_csrf(session.csrf)
        ceremony, options = passkeys.begin_registration(self.home, KIND, recipient.address, recipient.address)
        return web.ceremony_json(ceremony, options)

    def add(self):
        session, recipient = self.pages.signed_in()
        web.require_csrf(session.csrf)
        target = safe_target(web.form("next", 200) or "/profile")
        _ = i18n.translator(web.language(self.home, recipient))
        try:
            passkeys.finish_registration(self.home, KIND, recipient.address, web.form("ceremony", 100),
                                         web.form("credential", passkeys.MAX_RESPONSE),
                                         web.form("name", 200) or default_name(), self.client(), recipient.address)
        except PasskeyRejected:
            bottle.response.status = 400
            return self.pages.profile(error=_("The passkey could not be added. Please try again."))
        if target == "/profile":
            return self.pages.profile(notice=_("Your passkey is added. Next time, sign in with it."))
        see_other(target)

    def rename(self, number):
        session, recipient = self.pages.signed_in()
        web.require_csrf(session.csrf)
        passkeys.rename(self.home, KIND, recipient.address, number, web.form("name", 200), self.client(),
                        recipient.address)
        _ = i18n.translator(web.language(self.home, recipient))
        return self.pages.profile(notice=_("The passkey's name is saved."))

    def remove(self, number):
        session, recipient = self.pages.signed_in()
        web.require_csrf(session.csrf)
        _ = i18n.translator(web.language(self.home, recipient))
        if recipient.password_off and len(passkeys.of(KIND, recipient.address)) == 1:
            bottle.response.status = 400
            return self.pages.profile(error=_("This is your only way to sign in: set a password before you remove it."))
        passkeys.remove(self.home, KIND, recipient.address, number, self.client(), recipient.address)
        sessions.end_all(KIND, recipient.address, keep=session)  # one signed in with it ends too
        return self.pages.profile(notice=_("The passkey is removed."))

    def password_off(self):
        session, recipient = self.pages.signed_in()
        web.require_csrf(session.csrf)
        _ = i18n.translator(web.language(self.home, recipient))
        try:
            login.switch_password_off(self.home, recipient, self.client())
        except BadRequest as e:
            bottle.response.status = 400
            return self.pages.profile(error=_(str(e)))
        return self.pages.profile(notice=_("Your password is switched off: sign in with your passkey."))


def default_name() -> str:
    """A name a person recognises in the list: the system it was made on ("Passkey (iPhone)")."""
    system = useragent.parse(web.user_agent()).system
    return f"Passkey ({system})" if system else "Passkey"
