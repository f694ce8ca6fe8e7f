% rebase('base.tpl', title=_("Secure message"))
<h1>{{_("Secure message to {recipient}").format(recipient=row.record.recipient)}}</h1>
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
<dl class="headers">
  <dt>{{_("Recipient")}}</dt><dd>{{row.record.recipient}}</dd>
  % if subject_of:
  <dt>{{_("Subject")}}</dt><dd>{{subject_of(row.record) or "–"}}</dd>
  % end
  <dt>{{_("Sent")}}</dt><dd>{{!when(row.record.created)}}</dd>
  <dt>{{_("Size")}}</dt><dd>{{fmt_size(row.record.size)}}</dd>
  <dt>{{_("Expires")}}</dt><dd>{{!when(row.record.expires)}}</dd>
  <dt>{{_("Status")}}</dt><dd>{{words}}</dd>
  <dt>{{_("Recipient's account")}}</dt><dd>{{state}}</dd>
</dl>
% usable = row.record.data_key_wrapped is not None and row.record.revoked is None
% if usable:
<h2>{{_("Recall")}}</h2>
<p>{{_("Recalled, the message can never be opened again, by anybody.")}}</p>
<p><a class="button secondary" href="/sender/message/{{row.record.id}}/recall">{{_("Recall this message")}}</a></p>
% if max_days > 0:
<h2>{{_("Expiry")}}</h2>
<form method="post" action="/sender/message/{{row.record.id}}/expiry" class="row">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label for="days">{{_("Can be opened for this many days from today")}}</label>
  <input id="days" name="days" type="number" min="1" max="{{max_days}}" required aria-describedby="days-hint">
  <button type="submit">{{_("Save")}}</button>
</form>
<p id="days-hint" class="hint">{{_("1 to {max} days.").format(max=max_days)}}</p>
% end
% end
% if login_data and row.recipient_state != "deleted":
<h2 id="login-data">{{_("New login data")}}</h2>
<p>{{_("If the recipient forgot the password or the account is locked, you can send new login data. The password changes; where the login data go is set by the administrator (to you, by default).")}}</p>
<form method="post" action="/sender/message/{{row.record.id}}/login-data">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit" class="secondary">{{_("Send new login data")}}</button>
</form>
% end
<p><a href="/sender/messages">{{_("Back to the list")}}</a></p>
