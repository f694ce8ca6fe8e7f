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
% if ask_sender:
<h2 id="ask-sender">{{_("Ask the sender for new login data")}}</h2>
<p>{{_("The sender of your latest secure message can send you new login data. Enter your mail address: we ask them by mail.")}}</p>
<form method="post" action="/forgot/sender" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  <label for="ask-address">{{_("Mail address")}}</label>
  <input id="ask-address" name="address" type="email" autocomplete="username" required maxlength="320">
  <button type="submit" class="secondary">{{_("Ask the sender")}}</button>
</form>
% end
