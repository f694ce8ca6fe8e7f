% rebase('base.tpl', title=_("Change password"))
<h1>{{_("Change password")}}</h1>
% if forced:
<p class="notice" role="status">{{_("Please choose your own password before you continue.")}}</p>
% end
% if first_by_code:
<p class="notice" role="status">{{_("You signed in with a code sent to your mail address. You can set a password here for signing in without a code; the password you were given is not needed.")}}</p>
% end
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
<form method="post" action="/password" class="stack">
  <input type="hidden" name="csrf" value="{{csrf}}">
  % if not recipient.password_off and not first_by_code:
  <label for="current">{{_("Current password")}}</label>
  <input id="current" name="current" type="password" autocomplete="current-password" required autofocus>
  % end
  <label for="new">{{_("New password")}}</label>
  <input id="new" name="new" type="password" autocomplete="new-password" required minlength="12" aria-describedby="rules">
  <p id="rules" class="hint">{{_("At least 12 characters. A few unusual words in a row make a good password; very common passwords are refused.")}}</p>
  <label for="repeat">{{_("Repeat the new password")}}</label>
  <input id="repeat" name="repeat" type="password" autocomplete="new-password" required minlength="12">
  <button type="submit">{{_("Change password")}}</button>
</form>
