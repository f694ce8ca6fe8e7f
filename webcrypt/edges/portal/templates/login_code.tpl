% rebase('base.tpl', title=_("Sign in with a code"))
<h1>{{_("Sign in with a code")}}</h1>
% if not sent:
<p>{{_("We can send a one-time sign-in code to your mail address, if your organisation allows it for your address. The code is valid for {minutes} minutes.").format(minutes=minutes)}}</p>
<form method="post" action="/login/code" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  % if upload:
  <input type="hidden" name="upload" value="{{upload}}">
  % end
  <label for="address">{{_("Mail address")}}</label>
  <input id="address" name="address" type="email" autocomplete="username" required autofocus maxlength="320">
  <button type="submit">{{_("Send the code")}}</button>
</form>
% else:
<p class="notice" role="status">{{_("If this address can sign in with a code, we have sent one. It is valid for {minutes} minutes.").format(minutes=minutes)}}</p>
% if error:
<p class="error" role="alert" id="code-error">{{error[:1].upper() + error[1:]}}</p>
% end
<form method="post" action="/login/code/enter" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  % if upload:
  <input type="hidden" name="upload" value="{{upload}}">
  % end
  <label for="address">{{_("Mail address")}}</label>
  <input id="address" name="address" type="email" autocomplete="username" required maxlength="320" value="{{address}}">
  <label for="code">{{_("Sign-in code")}}</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength="40"{{!' aria-describedby="code-error"' if error else ''}}>
  <button type="submit">{{_("Sign in")}}</button>
</form>
<p><a href="/login/code{{'?upload=' + upload if upload else ''}}">{{_("Ask for a new code")}}</a></p>
% end
<p><a href="/login{{'?upload=' + upload if upload else ''}}">{{_("Log in with your password")}}</a></p>
