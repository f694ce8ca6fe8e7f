% rebase('admin_base.tpl', title=title)
% if message:
<p class="notice" role="status">{{message}}</p>
% end
% if password:
<p><span class="secret">{{password}}</span></p>
% end
<div class="scroll"><table>
<tr><th>{{_("Status")}}</th><td>{{', '.join(_(s) for s in (('disabled',) if row['disabled'] else ()) + (('locked',) if row['locked'] else ()) + (('expired',) if row['expired'] else ()) + (('must change password',) if row['must_change_password'] else ())) or _('active')}}</td></tr>
<tr><th>{{_("Created")}}</th><td>{{date(row['created'])}}</td></tr>
<tr><th>{{_("Last login")}}</th><td>{{date(row['last_login']) if row['last_login'] else _('never')}}</td></tr>
<tr><th>{{_("Valid until")}}</th><td>{{date(row['valid_until']) if row['valid_until'] else _('for ever')}}</td></tr>
<tr><th>{{_("Locked")}}</th><td>{{date(row['locked_until']) if row['locked'] else '-'}}</td></tr>
<tr><th>{{_("Message count")}}</th><td><a href="{{url('/messages', recipient=row['address'])}}">{{row['messages']}}</a></td></tr>
</table></div>
% action = lambda name: url('/users/' + quote(row['address'], safe='@') + '/' + name)
<div class="grid">
<form method="post" action="{{action('reset')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<label><input type="checkbox" name="confirm" value="yes" required> {{_("The current password stops working at once")}}</label>
<button>{{_("Reset password")}}</button></form>
% if row['locked'] or row['locked_until']:
<form method="post" action="{{action('unlock')}}"><input type="hidden" name="csrf" value="{{csrf}}"><button>{{_("Unlock")}}</button></form>
% end
<form method="post" action="{{action('enable' if row['disabled'] else 'disable')}}"><input type="hidden" name="csrf" value="{{csrf}}"><button>{{_("Enable" if row['disabled'] else "Disable")}}</button></form>
<form method="post" action="{{action('extend')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<label for="days">{{_("Days from now (0: for ever)")}}</label>
<input id="days" name="days" type="number" min="0" max="36500" value="365" inputmode="numeric" required>
<button>{{_("Extend validity")}}</button></form>
</div>
<h2>{{_("Active sessions")}}</h2>
% if active_sessions:
% include('admin_session_rows.tpl', ending=False)
<form method="post" action="{{action('end-sessions')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<button>{{_("End all sessions")}}</button></form>
% else:
<p>{{_("No active sessions.")}}</p>
% end
<fieldset>
<legend>{{_("Delete account")}}</legend>
<p class="warning" id="delete-warning">{{_("Deleting destroys this recipient's key: none of the recipient's messages can ever be read again, by anyone. This cannot be undone.")}}</p>
<form method="post" action="{{action('delete')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<label for="confirm">{{_("Type the address to confirm")}}</label>
<input id="confirm" name="confirm" autocomplete="off" autocapitalize="none" aria-describedby="delete-warning" required>
<button class="danger">{{_("Delete")}}</button></form>
</fieldset>
