% rebase('admin_base.tpl', title=title)
% if message:
<p class="{{'error' if failed else 'notice'}}" role="{{'alert' if failed else 'status'}}">{{message}}</p>
% end
<p>{{_("A passkey signs you in to the console with your fingerprint, face, device PIN or security key: no password and no code to type, and nothing a phishing site can reuse.")}}</p>
% if passkeys:
<div class="scroll"><table>
<caption class="visually-hidden">{{_("Your passkeys")}}</caption>
<thead><tr><th scope="col">{{_("Name")}}</th><th scope="col">{{_("Created")}}</th><th scope="col">{{_("Last used")}}</th><th scope="col">{{_("Actions")}}</th></tr></thead>
<tbody>
% for key in passkeys:
<tr>
<td><form method="post" action="{{url('/passkeys/%d/rename' % key.id)}}" class="inline">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="passkey-name-{{key.id}}" class="visually-hidden">{{_("Name of the passkey")}}</label>
<input id="passkey-name-{{key.id}}" name="name" value="{{key.name}}" maxlength="64" required>
<button type="submit">{{_("Rename")}}</button>
</form></td>
<td>{{date(key.created)}}</td>
<td>{{date(key.last_used) if key.last_used else _("never")}}</td>
<td><form method="post" action="{{url('/passkeys/%d/remove' % key.id)}}" class="inline">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" class="danger" aria-label="{{_('Remove passkey')}} {{key.name}}">{{_("Remove")}}</button>
</form></td>
</tr>
% end
</tbody>
</table></div>
% end
<h2>{{_("Add a passkey")}}</h2>
<div data-passkey-area hidden>
<form method="post" action="{{url('/passkeys/add')}}" data-passkey="add" data-options="{{url('/passkeys/add/options')}}"
      data-origin="{{origin}}" data-elsewhere="{{url('/passkeys')}}" data-status="passkey-status"
      data-waiting="{{_("Follow your browser's instructions to create your passkey.")}}"
      data-failed="{{_("No passkey was created. Check your password and try again.")}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="ceremony" value="">
<input type="hidden" name="credential" value="">
<label for="passkey-new-name">{{_("Name of the new passkey")}}</label>
<input id="passkey-new-name" name="name" maxlength="64" placeholder="{{_('e.g. office laptop')}}">
<label for="password">{{_("Your password, to confirm the change")}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="button" data-passkey-start>{{_("Add a passkey")}}</button></p>
</form>
<p id="passkey-status" role="status" aria-live="polite"></p>
</div>
<p data-passkey-missing>{{_("This browser cannot create passkeys.")}}</p>
<script src="/static/passkey.js" nonce="{{nonce}}" defer></script>
