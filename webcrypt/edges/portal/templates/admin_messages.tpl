% rebase('admin_base.tpl', title=title)
% if message:
<p class="notice" role="status">{{message}}</p>
% end
<p>{{_("Only metadata is stored: nothing of the content.")}}</p>
% words = {'unopened': _("not opened"), 'opened': _("opened"), 'replied': _("replied"), 'expired': _("expired"), 'recalled': _("recalled"), 'destroyed': _("destroyed"), 'recipient_disabled': _("recipient disabled")}
<form method="get" action="{{url('/messages')}}" class="grid" role="search">
<div><label for="f-sender">{{_("Sender")}}</label><input id="f-sender" name="sender" value="{{filters['sender']}}" inputmode="email"></div>
<div><label for="f-recipient">{{_("Recipient")}}</label><input id="f-recipient" name="recipient" value="{{filters['recipient']}}" inputmode="email"></div>
<div><label for="f-since">{{_("From (date)")}}</label><input id="f-since" name="since" type="date" value="{{filters['since']}}"></div>
<div><label for="f-until">{{_("To (date)")}}</label><input id="f-until" name="until" type="date" value="{{filters['until']}}"></div>
<div><button type="submit">{{_("Filter")}}</button></div>
</form>
<div class="scroll"><table>
<thead><tr><th>ID</th><th>{{_("Created")}}</th><th>{{_("Sender")}}</th><th>{{_("Recipient")}}</th><th>{{_("Expires")}}</th><th class="num">{{_("Size")}}</th><th>{{_("Status")}}</th><th>{{_("Subject")}}</th></tr></thead>
<tbody>
% for row in rows:
<tr id="m-{{row['id']}}">
<td><code class="id">{{row['id']}}</code></td><td>{{date(row['created'])}}</td><td>{{row['sender']}}</td><td>{{row['recipient']}}</td>
<td>{{date(row['expires'])}}</td><td class="num">{{size(row['size'])}}</td>
<td class="status-{{row['status']}}">{{words[row['status']]}}
% if row['first_opened']:
<br><small>{{_("opened first {first}, last {last}").format(first=date(row['first_opened']), last=date(row['last_opened'] or row['first_opened']))}}</small>
% end
% if row['replied']:
<br><small>{{_("replied {when}").format(when=date(row['replied']))}}</small>
% end
% if row['receipt']:
<br><small>{{_("read receipt sent {when}").format(when=date(row['receipt_sent'])) if row['receipt_sent'] else _("read receipt asked for")}}</small>
% end
</td>
<td>{{row['subject'] or ''}}</td></tr>
% if row['status'] not in ('recalled', 'destroyed'):
<tr class="row-actions"><td colspan="8"><div class="actions" role="group" aria-label="{{_("Actions for message {id}").format(id=row['id'])}}">
<form class="inline" method="post" action="{{url('/messages/' + row['id'] + '/expire')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<label for="d-{{row['id']}}" class="skip">{{_("Days from now")}}</label>
<input id="d-{{row['id']}}" name="days" type="number" min="0" max="36500" value="30" size="5" inputmode="numeric" required>
<button>{{_("Change expiry")}}</button></form>
<form class="inline" method="post" action="{{url('/messages/' + row['id'] + '/recall')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<label><input type="checkbox" name="confirm" value="yes" required> {{_("It can never be opened again")}}</label>
<button class="danger">{{_("Recall")}}</button></form>
</div></td></tr>
% end
% end
% if not rows:
<tr><td colspan="8">{{_("no results")}}</td></tr>
% end
</tbody></table></div>
