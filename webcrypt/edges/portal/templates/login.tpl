% rebase('base.tpl', title=_("Log in"))
<h1>{{_("Log in")}}</h1>
% if welcome:
<p class="welcome">{{welcome}}</p>
% end
% if get('closed'):
<p class="notice" role="status">{{_("The message you had open was closed after {minutes} minutes to protect it. It has not been deleted: open the file secure.htm in your mail again to read it.").format(minutes=upload_minutes)}}</p>
% end
% if record is not None:
<p class="meta">{{_("A confidential message from")}} <strong>{{record.sender}}</strong>, {{!when(record.created)}}.</p>
% end
% if error or lock:
<p class="error" role="alert" id="login-error">{{error[:1].upper() + error[1:]}} {{!" ".join(lock)}}</p>
% end
% if lock:
<section class="notice" aria-labelledby="meanwhile">
<h2 id="meanwhile">{{_("What else you can do")}}</h2>
<ul>
  % if questions:
  <li><a href="/forgot">{{_("Get a new password if you have forgotten yours")}}</a></li>
  % end
  % if ask_sender:
  <li><a href="/forgot#ask-sender">{{_("Ask the sender of the message for new login data")}}</a></li>
  % elif not questions:
  <li>{{_("Forgotten your password? Please ask the sender of the message or the administrator.")}}</li>
  % end
  % if contact:
  <li>{{_("Ask us:")}} {{contact}}</li>
  % end
</ul>
</section>
% end
<form method="post" action="/login" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  % if upload:
  <input type="hidden" name="upload" value="{{upload}}">
  % end
  <label for="address">{{_("Mail address")}}</label>
  <input id="address" name="address" type="email" autocomplete="username" required autofocus value="{{address}}" maxlength="320">
  <label for="password">{{_("Password")}}</label>
  <div class="secret">
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="button" class="reveal secondary" data-reveal="password" aria-controls="password" aria-pressed="false" hidden>{{_("Show password")}}</button>
  </div>
  <button type="submit">{{_("Log in")}}</button>
</form>
<div class="passkey" data-passkey-area hidden>
  <p class="or">{{_("or")}}</p>
  <form method="post" action="/passkey/sign-in" data-passkey="sign-in" data-options="/passkey/sign-in/options"
        data-origin="{{origin}}" data-elsewhere="/login{{('?upload=' + upload) if upload else ''}}" data-status="passkey-status"
        data-waiting="{{_("Follow your browser's instructions to use your passkey.")}}"
        data-failed="{{_('No passkey was used. Try again, or log in with your password.')}}">
    <input type="hidden" name="csrf" value="{{pre_csrf}}">
    % if upload:
    <input type="hidden" name="upload" value="{{upload}}">
    % end
    <input type="hidden" name="ceremony" value="">
    <input type="hidden" name="credential" value="">
    <button type="button" class="secondary" data-passkey-start>{{_("Sign in with a passkey")}}</button>
  </form>
  <p id="passkey-status" class="hint" role="status" aria-live="polite"></p>
</div>
<script src="/static/passkey.js" nonce="{{nonce}}" defer></script>
<script src="/static/reveal.js" nonce="{{nonce}}" defer></script>
% if codes:
<p><a href="/login/code{{'?upload=' + upload if upload else ''}}">{{_("Email me a sign-in code")}}</a></p>
% end
% if questions:
<p><a href="/forgot">{{_("Forgotten your password?")}}</a></p>
% else:
<p>{{_("Forgotten your password? Please ask the sender of the message or the administrator.")}}</p>
% end
