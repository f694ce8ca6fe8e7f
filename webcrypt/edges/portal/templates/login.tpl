% rebase('base.tpl', title=_("Log in"))
<h1>{{_("Log in")}}</h1>
% if welcome:
<p class="welcome">{{welcome}}</p>
% end
% if record is not None:
<p class="meta">{{_("A confidential message from")}} <strong>{{record.sender}}</strong>, {{fmt_time(record.created)}}.</p>
% end
% if error:
<p class="error" role="alert" id="login-error">{{error[:1].upper() + error[1:]}}</p>
% end
<form method="post" action="/login" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  % if upload:
  <input type="hidden" name="upload" value="{{upload}}">
  % end
  <label for="address">{{_("Mail address")}}</label>
  <input id="address" name="address" type="email" autocomplete="username" required autofocus value="{{address}}" maxlength="320">
  <label for="password">{{_("Password")}}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1000">
  <button type="submit">{{_("Log in")}}</button>
</form>
% if codes:
<p><a href="/login/code{{'?upload=' + upload if upload else ''}}">{{_("Email me a sign-in code")}}</a></p>
% end
% if questions:
<p><a href="/forgot">{{_("Forgotten your password?")}}</a></p>
% else:
<p>{{_("Forgotten your password? Please ask the sender of the message or the administrator.")}}</p>
% end
