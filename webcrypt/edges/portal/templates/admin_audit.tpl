% rebase('admin_base.tpl', title=title)
<form method="get" action="{{url('/audit')}}" class="grid" role="search">
<div><label for="a-user">{{_("User")}}</label><input id="a-user" name="user" value="{{filters['user']}}"></div>
<div><label for="a-action">{{_("Action")}}</label><input id="a-action" name="action" value="{{filters['action']}}"></div>
<div><label for="a-since">{{_("Since (date)")}}</label><input id="a-since" name="since" type="date" value="{{filters['since']}}"></div>
<div><button type="submit">{{_("Filter")}}</button></div>
</form>
<div class="scroll" tabindex="0" role="region" aria-label="{{_("Audit trail entries")}}"><table>
<thead><tr><th>{{_("Time (UTC)")}}</th><th>{{_("Actor")}}</th><th>{{_("Action")}}</th><th>{{_("Subject")}}</th><th>{{_("Detail")}}</th><th>{{_("Client")}}</th></tr></thead>
<tbody>
% for row in rows:
<tr><td>{{date(row['at'])}}</td><td>{{row['actor']}}</td><td>{{row['action']}}</td><td>{{row['subject']}}</td><td>{{detail(row['detail'])}}</td><td>{{row['client']}}</td></tr>
% end
</tbody></table></div>
