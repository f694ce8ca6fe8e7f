% rebase('admin_base.tpl', title=title)
% if message:
<p class="notice" role="status">{{message}}</p>
% end
<p>{{_("Values set here take precedence over webcrypt.toml; an empty field brings back the file's value.")}}</p>
<form method="post" action="{{url('/settings')}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<div class="scroll"><table>
<thead><tr><th>{{_("Setting")}}</th><th>{{_("In the file")}}</th><th>{{_("In effect")}}</th><th>{{_("Console value (empty: use the file)")}}</th></tr></thead>
<tbody>
% for row in rows:
<tr><td><label for="s-{{row['key']}}">{{_(row['key'])}}</label><code>{{row['key']}}</code></td>
<td>{{shown(row['file'])}}</td><td>{{shown(row['effective'])}}</td>
<td><input id="s-{{row['key']}}" name="value_{{row['key']}}" value="{{'' if row['console'] is None else shown(row['console'])}}"></td></tr>
% end
</tbody></table></div>
<p><button type="submit">{{_("Save")}}</button></p>
</form>
