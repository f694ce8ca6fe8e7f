% rebase('base.tpl', title=_("Forgotten password"))
<h1>{{_("Forgotten password")}}</h1>
<p>{{_("If this address has an account with a confidential question, we have sent a link to it.")}}
{{_("Open the link within {minutes} minutes and answer your question there.").replace("{minutes}", str(minutes))}}</p>
<p>{{_("If no mail arrives, please ask the sender of the message or the administrator for a new password.")}}</p>
<p><a href="/login">{{_("Log in")}}</a></p>
