% rebase('admin_base.tpl', title=title)
% if message or lock:
<p class="error" role="alert">{{message}} {{!" ".join(lock)}}</p>
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
<div data-passkey-area hidden>
<form method="post" action="{{url('/login/passkey')}}" data-passkey="sign-in" data-options="{{url('/login/passkey/options')}}"
      data-origin="{{origin}}" data-elsewhere="{{url('/login')}}" data-status="passkey-status"
      data-waiting="{{_("Follow your browser's instructions to use your passkey.")}}"
      data-failed="{{_("No passkey was used. Try again, or log in with your password.")}}">
<input type="hidden" name="csrf" value="{{login_token}}">
<input type="hidden" name="next" value="{{next}}">
<input type="hidden" name="ceremony" value="">
<input type="hidden" name="credential" value="">
<p><button type="button" data-passkey-start>{{_("Sign in with a passkey")}}</button></p>
</form>
<p id="passkey-status" role="status" aria-live="polite"></p>
</div>
% if passkey_only:
<p class="hint">{{_("This console requires passkeys: an administrator who has one signs in with it; one who has none yet logs in with the password once to add it.")}}</p>
% end
<script src="/static/passkey.js" nonce="{{nonce}}" defer></script>
% if recovery:
<p><a href="{{url('/login', next=next)}}">{{_("Use the code of your authenticator app instead")}}</a></p>
% else:
<p><a href="{{url('/login', next=next, recovery='1')}}">{{_("Lost your phone? Use a recovery code instead")}}</a></p>
% end
