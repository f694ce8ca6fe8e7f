% rebase('base.tpl', title=_("New password"))
<h1>{{_("New password")}}</h1>
<p>{{_("Your new password is:")}}</p>
<p class="password"><code id="new-password">{{password}}</code></p>
<p>{{_("Log in with it now; you will then choose your own password.")}}</p>
<p><a class="button" href="/login">{{_("Log in")}}</a></p>
