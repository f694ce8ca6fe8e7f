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
<tr><td><label for="s-{{row['key']}}">{{label(row['key'])}} <code class="hint">{{row['key']}}</code></label></td>
<td>{{setting(row['key'], row['file'])}}</td><td>{{setting(row['key'], row['effective'])}}</td>
<td><input id="s-{{row['key']}}" name="value_{{row['key']}}" value="{{'' if row['console'] is None else (shown(row['console']) or '-')}}"></td></tr>
% end
</tbody></table></div>
<p><button type="submit">{{_("Save")}}</button></p>
</form>
<h2 id="mail-codes">{{_("Sign-in codes by mail")}}</h2>
<p>{{_("Recipients in the domains listed under accounts.mail_code_domains may ask for a one-time code mailed to their own address and sign in with it instead of their password ('*': every domain; '-': none, even if the file lists some). Off by default.")}}</p>
<p>{{_("The trade-off: convenient, since nobody must pass a password on and nobody forgets one; but the mailbox alone then opens the messages, so whoever controls a recipient's mailbox reads their encrypted messages too. A password passed on by another channel (phone, letter) protects the messages even from someone who has taken over the mailbox. Allow codes only for domains whose mailboxes you trust that far.")}}</p>
