% rebase('base.tpl', title=_("Change password"))
% field_error = lambda name: errors.get(name, "")
<h1>{{_("Change password")}}</h1>
% if forced:
<p class="notice" role="status">{{_("Please choose your own password before you continue.")}}</p>
% end
% if first_by_code:
<p class="notice" role="status">{{_("You signed in with a code sent to your mail address. You can set a password here for signing in without a code; the password you were given is not needed.")}}</p>
% end
% if errors:
<div class="error" role="alert" id="password-errors">
  <p>{{_("The password was not changed:")}}</p>
  <ul>
  % for name in ("current", "new", "repeat"):
  % if field_error(name):
    <li><a href="#{{name}}">{{field_error(name)}}</a></li>
  % end
  % end
  </ul>
</div>
% end
% first_wrong = next((name for name in ("current", "new", "repeat") if field_error(name)), "")
% focus = first_wrong or ("current" if ask_current else "new")
<form method="post" action="/password" class="stack">
  <input type="hidden" name="csrf" value="{{csrf}}">
  % # The address, for password managers: they save the new password under this login.
  <label for="username">{{_("Mail address")}}</label>
  <input id="username" name="username" type="email" autocomplete="username" value="{{recipient.address}}" readonly>
  % if ask_current:
  % include('password_field.tpl', name="current", label=_("Current password"), complete="current-password", hint="", error=field_error("current"), value="", focus=focus)
  % end
  % include('password_field.tpl', name="new", label=_("New password"), complete="new-password", hint=_("At least {minimum} characters. A few unusual words in a row make a good password; very common passwords are refused. A password your browser or password manager suggests is welcome.").format(minimum=minimum), error=field_error("new"), value=kept.get("new", ""), focus=focus)
  % include('password_field.tpl', name="repeat", label=_("Repeat the new password"), complete="new-password", hint="", error=field_error("repeat"), value=kept.get("repeat", ""), focus=focus)
  <button type="submit">{{_("Change password")}}</button>
</form>
<script src="/static/reveal.js" nonce="{{nonce}}" defer></script>
