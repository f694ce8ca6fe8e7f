% rebase('admin_base.tpl', title=title)
<form method="get" action="{{url('/users')}}" role="search">
<label for="q">{{_("Search by address")}}</label>
<input id="q" name="q" type="search" value="{{search}}" inputmode="email">
<button type="submit">{{_("Search")}}</button>
</form>
<div class="scroll"><table>
<thead><tr><th>{{_("Address")}}</th><th>{{_("Status")}}</th><th>{{_("Created")}}</th><th>{{_("Last login")}}</th><th>{{_("Valid until")}}</th><th class="num">{{_("Messages")}}</th></tr></thead>
<tbody>
% for row in rows:
<tr>
<td><a href="{{url('/users/' + quote(row['address'], safe='@'))}}">{{row['address']}}</a></td>
<td>{{', '.join(_(s) for s in (('disabled',) if row['disabled'] else ()) + (('locked',) if row['locked'] else ()) + (('expired',) if row['expired'] else ())) or _('active')}}</td>
<td>{{date(row['created'])}}</td><td>{{date(row['last_login'])}}</td>
<td>{{date(row['valid_until']) if row['valid_until'] else _('for ever')}}</td>
<td class="num">{{row['messages']}}</td>
</tr>
% end
% if not rows:
<tr><td colspan="6">{{_("no results")}}</td></tr>
% end
</tbody></table></div>
