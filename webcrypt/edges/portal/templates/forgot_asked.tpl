% rebase('base.tpl', title=_("Forgotten password"))
<h1>{{_("Forgotten password")}}</h1>
<p role="status">{{_("If this address has an account, we have asked the sender of its latest message to send new login data.")}}</p>
<p>{{_("The sender may first check that the request comes from you, for instance by phone.")}}</p>
<p><a href="/login">{{_("Log in")}}</a></p>
