% rebase('base.tpl', title=_("Forgotten password"))
<h1>{{_("Forgotten password")}}</h1>
<p>{{_("No confidential question is available for this address. Please ask the sender of the message or the administrator for a new password.")}}</p>
<p><a href="/login">{{_("Log in")}}</a></p>
