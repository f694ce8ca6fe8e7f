% rebase('base.tpl', title=_("Forgotten password"))
<h1>{{_("Forgotten password")}}</h1>
% if enabled:
<p>{{_("If you have set a confidential question, you can get a new password here: we send a link to your mail address, and you answer your question there.")}}</p>
<form method="post" action="/forgot" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  <label for="address">{{_("Mail address")}}</label>
  <input id="address" name="address" type="email" autocomplete="username" required autofocus maxlength="320">
  <button type="submit">{{_("Send the link")}}</button>
</form>
% else:
<p>{{_("Please ask the sender of the message or the administrator for a new password.")}}</p>
% end
