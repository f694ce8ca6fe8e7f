% rebase('base.tpl', title=_("Profile"))
<h1>{{_("Profile")}}</h1>
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
% if offer_passkey:
% include('passkey_offer.tpl')
% end
<dl class="headers">
  <dt>{{_("Mail address")}}</dt><dd>{{recipient.address}}</dd>
  <dt>{{_("Previous login")}}</dt><dd>{{!when(previous_login) if previous_login else _("this is your first login")}}</dd>
  <dt>{{_("Account valid until")}}</dt><dd>{{!when(recipient.valid_until) if recipient.valid_until else _("no limit")}}</dd>
</dl>
% if opened:
<h2>{{_("Open messages")}}</h2>
<ul class="opened">
% for item in opened:
<li><a href="/message/{{item.upload}}">{{item.subject or _("Message from {sender}").format(sender=item.sender)}}</a>
  <span class="meta">{{_("from {sender}, {date}").format(sender=item.sender, date=fmt_time(item.created)) if item.subject else fmt_time(item.created)}}</span></li>
% end
</ul>
% end
<h2 id="sessions-title">{{_("Your sessions")}}</h2>
<p class="hint">{{_("Where you are logged in now. If you do not recognise a session, end it and change your password.")}}</p>
<ul class="sessions" aria-labelledby="sessions-title">
% for number, listed in enumerate(active_sessions):
<li>
  <p id="session-{{number}}"><strong>{{listed.device.label(on=_("{browser} on {system}"), unknown=_("Unknown browser"))}}</strong>
  % if listed.current:
  <span class="current">{{_("this session")}}</span>
  % end
  </p>
  <dl class="headers">
    <dt>{{_("Address")}}</dt><dd>{{listed.client or "–"}}</dd>
    <dt>{{_("Started")}}</dt><dd>{{!when(listed.created)}}</dd>
    <dt>{{_("Last active")}}</dt><dd>{{!when(listed.last_seen)}}</dd>
  </dl>
  % if not listed.current:
  <form method="post" action="/profile/sessions/end">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="session" value="{{listed.handle}}">
    <button type="submit" class="button secondary" aria-describedby="session-{{number}}">{{_("End session")}}</button>
  </form>
  % end
</li>
% end
</ul>
% if len(active_sessions) > 1:
<form method="post" action="/profile/sessions/end-others">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">{{_("Log out everywhere else")}}</button>
</form>
% end
<h2>{{_("Language")}}</h2>
<form method="post" action="/profile/language" class="row">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label for="language">{{_("Language")}}</label>
  <select id="language" name="language">
    % for code, language_name in languages.items():
    <option value="{{code}}" {{'selected' if lang == code else ''}}>{{language_name}}</option>
    % end
  </select>
  <button type="submit">{{_("Save")}}</button>
</form>
<h2 id="passkeys">{{_("Passkeys")}}</h2>
% if passkeys:
<table class="list">
  <caption class="visually-hidden">{{_("Your passkeys")}}</caption>
  <thead><tr><th scope="col">{{_("Name")}}</th><th scope="col">{{_("Created")}}</th><th scope="col">{{_("Last used")}}</th><th scope="col">{{_("Actions")}}</th></tr></thead>
  <tbody>
  % for key in passkeys:
  <tr>
    <td>
      <form method="post" action="/passkey/{{key.id}}/rename" class="row">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="passkey-name-{{key.id}}" class="visually-hidden">{{_("Name of the passkey")}}</label>
        <input id="passkey-name-{{key.id}}" name="name" value="{{key.name}}" maxlength="64" required>
        <button type="submit" class="secondary">{{_("Rename")}}</button>
      </form>
    </td>
    <td>{{!when(key.created)}}</td>
    <td>{{!when(key.last_used) if key.last_used else _("never")}}</td>
    <td>
      <form method="post" action="/passkey/{{key.id}}/remove" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="secondary" aria-label="{{_('Remove passkey')}} {{key.name}}">{{_("Remove")}}</button>
      </form>
    </td>
  </tr>
  % end
  </tbody>
</table>
% else:
<p>{{_("A passkey lets you sign in with your fingerprint, face or device PIN instead of your password.")}}</p>
% end
<div data-passkey-area hidden>
  <form method="post" action="/passkey/add" data-passkey="add" data-options="/passkey/add/options"
        data-origin="{{origin}}" data-elsewhere="/profile" data-status="passkey-status" class="row"
        data-waiting="{{_("Follow your browser's instructions to create your passkey.")}}"
        data-failed="{{_('No passkey was created. Please try again.')}}">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="ceremony" value="">
    <input type="hidden" name="credential" value="">
    <label for="passkey-new-name">{{_("Name of the new passkey")}}</label>
    <input id="passkey-new-name" name="name" maxlength="64" placeholder="{{_('e.g. my phone')}}">
    <button type="button" data-passkey-start>{{_("Add a passkey")}}</button>
  </form>
  <p id="passkey-status" class="hint" role="status" aria-live="polite"></p>
</div>
<p data-passkey-missing class="hint">{{_("This browser cannot create passkeys.")}}</p>
<script src="/static/passkey.js" nonce="{{nonce}}" defer></script>
<h2>{{_("Password")}}</h2>
% if recipient.password_off:
<p>{{_("Your password is switched off: you sign in with a passkey.")}}</p>
<p><a class="button secondary" href="/password">{{_("Set a password")}}</a></p>
% else:
<p><a class="button secondary" href="/password">{{_("Change password")}}</a></p>
% if passkeys:
<form method="post" action="/profile/password-off" class="stack">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <p class="hint">{{_("With a passkey you need no password. Switched off, your password and your confidential question no longer sign in; the sender or the administrator can give you a new password if you lose your device.")}}</p>
  <button type="submit" class="secondary">{{_("Switch the password off")}}</button>
</form>
% end
% end
% if questions and not recipient.password_off:
<h2>{{_("Confidential question")}}</h2>
<p>{{_("With a confidential question you can get a new password yourself if you forget yours.")}}</p>
% if recipient.question:
<p>{{_("Your question:")}} <em>{{recipient.question}}</em></p>
% end
<form method="post" action="/profile/question" class="stack">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label for="question">{{_("Question")}}</label>
  <input id="question" name="question" maxlength="200" required>
  <label for="answer">{{_("Answer")}}</label>
  <input id="answer" name="answer" type="password" autocomplete="off" required maxlength="200">
  <label for="qpassword">{{_("Current password")}}</label>
  <input id="qpassword" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">{{_("Save question")}}</button>
</form>
% end
