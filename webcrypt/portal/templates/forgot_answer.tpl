% rebase('base.tpl', title=_("Forgotten password"))
<h1>{{_("Forgotten password")}}</h1>
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
<form method="post" action="/forgot/answer" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  <input type="hidden" name="address" value="{{address}}">
  <p>{{_("Your question:")}} <strong>{{_(question)}}</strong></p>
  <label for="answer">{{_("Answer")}}</label>
  <input id="answer" name="answer" type="password" autocomplete="off" required autofocus maxlength="200">
  <button type="submit">{{_("Get a new password")}}</button>
</form>
<p>{{_("If you never chose this question, please ask the sender of the message or the administrator for a new password.")}}</p>
