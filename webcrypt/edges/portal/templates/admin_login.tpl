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
% if recovery:
<input type="hidden" name="recovery" value="1">
<label for="code">{{_("Recovery code")}}</label>
<input id="code" name="code" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="20" required aria-describedby="code-hint">
<p id="code-hint" class="hint">{{_("One of the recovery codes you kept when you set up your second factor, such as abcd-efgh-jkmn. Each works once.")}}</p>
% else:
<label for="code">{{_("Code")}}</label>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" maxlength="8" aria-describedby="code-hint">
<p id="code-hint" class="hint">{{_("Only if you have a second factor: the 6-digit code of your authenticator app.")}}</p>
% end
<p><button type="submit">{{_("Log in")}}</button></p>
</form>
% if recovery:
<p><a href="{{url('/login', next=next)}}">{{_("Use the code of your authenticator app instead")}}</a></p>
% else:
<p><a href="{{url('/login', next=next, recovery='1')}}">{{_("Lost your phone? Use a recovery code instead")}}</a></p>
% end
