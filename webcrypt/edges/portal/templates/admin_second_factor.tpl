% rebase('admin_base.tpl', title=title)
% if message:
<p class="{{'error' if failed else 'notice'}}" role="{{'alert' if failed else 'status'}}">{{message}}</p>
% end
% if enrolment:
<h2>{{_("Add it to your authenticator app")}}</h2>
<p>{{_("Scan the QR code with the app, or type the secret below into it. It is shown only now.")}}</p>
<div class="qr">{{!qr_svg}}</div>
<h3>{{_("Secret for typing in")}}</h3>
<p><code id="secret" class="secret">{{enrolment.secret}}</code></p>
<p class="hint">{{_("Time-based (TOTP), 6 digits, every 30 seconds. The next login asks for the app's code.")}}</p>
% end
% if codes:
<h2 id="codes-heading">{{_("Your recovery codes")}}</h2>
<p class="warning">{{_("Shown only now. Print them or write them down and keep them apart from your phone. Each code logs you in once in place of the app's code, if the phone is lost.")}}</p>
<ol class="codes" aria-labelledby="codes-heading">
% for code in codes:
<li><span class="secret">{{code}}</span></li>
% end
</ol>
% end
<div class="scroll"><table>
<tr><th>{{_("Authenticator app (TOTP)")}}</th><td>{{_("on") if row['totp'] else _("off")}}</td></tr>
% if row['totp']:
<tr><th>{{_("Recovery codes left")}}</th><td>{{row['recovery_codes']}}</td></tr>
% end
</table></div>
<form method="post" action="{{url('/second-factor')}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="password">{{_("Your password, to confirm the change")}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="grid">
<p><button name="action" value="enrol">{{_("Replace the authenticator app") if row['totp'] else _("Set up an authenticator app")}}</button></p>
% if row['totp']:
<p><button name="action" value="recovery-codes" aria-describedby="codes-note">{{_("Make new recovery codes")}}</button></p>
<p><button name="action" value="remove" class="danger" aria-describedby="remove-note">{{_("Remove the second factor")}}</button></p>
% end
</div>
% if row['totp']:
<p class="hint" id="codes-note">{{_("New recovery codes replace all earlier ones.")}}</p>
<p class="hint" id="remove-note">{{_("Removing it deletes the recovery codes too; then your password alone logs you in.")}}</p>
% end
</form>
