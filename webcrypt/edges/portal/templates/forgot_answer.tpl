% rebase('base.tpl', title=_("Forgotten password"))
<h1>{{_("Forgotten password")}}</h1>
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
<form method="post" action="/forgot/answer" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  <input type="hidden" name="token" value="{{token}}">
  <p>{{_("Your question:")}} <strong>{{question}}</strong></p>
  <label for="answer">{{_("Answer")}}</label>
  <input id="answer" name="answer" type="password" autocomplete="off" required autofocus maxlength="200">
  <button type="submit">{{_("Get a new password")}}</button>
</form>
