% rebase('admin_base.tpl', title=title)
% if message:
<p class="error" role="alert">{{message}}</p>
% end
<form method="post" action="{{url('/login')}}">
<input type="hidden" name="csrf" value="{{login_token}}">
<input type="hidden" name="next" value="{{next}}">
<label for="name">{{_("Name")}}</label>
<input id="name" name="name" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">{{_("Password")}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="code">{{_("Code")}}</label>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" maxlength="8" aria-describedby="code-hint">
<p id="code-hint" class="hint">{{_("Only if you have a second factor: the 6-digit code of your authenticator app.")}}</p>
<p><button type="submit">{{_("Log in")}}</button></p>
</form>
