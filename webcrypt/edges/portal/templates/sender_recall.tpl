% rebase('base.tpl', title=_("Recall the message"))
<h1>{{_("Recall the message")}}</h1>
<p>{{_("Recall the message to {recipient}, sent {sent}? Nobody can open it afterwards, not even you; this cannot be undone.").format(recipient=row.record.recipient, sent=fmt_time(row.record.created))}}</p>
<form method="post" action="/sender/message/{{row.record.id}}/recall" class="row">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">{{_("Recall for good")}}</button>
  <a class="button secondary" href="/sender/message/{{row.record.id}}">{{_("Cancel")}}</a>
</form>
