% rebase('base.tpl', title=_("Sender page"))
<h1>{{_("Sender page")}}</h1>
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
% if sent:
<p class="notice" role="status">{{_("If this address can use the sender page, we have sent a sign-in link to it. Open it within {minutes} minutes in this browser.").format(minutes=minutes)}}</p>
% else:
<p>{{_("Here you see the secure mail you have sent: whether it was opened, and you can recall it or give it more time. Enter your mail address: we send you a sign-in link.")}}</p>
% end
<form method="post" action="/sender" class="stack">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
  <input type="hidden" name="next" value="{{target}}">
  <label for="address">{{_("Your mail address")}}</label>
  <input id="address" name="address" type="email" autocomplete="username" required maxlength="320"{{!'' if sent else ' autofocus'}}>
  <button type="submit">{{_("Send me a sign-in link") if not sent else _("Send a new link")}}</button>
</form>
<div class="passkey" data-passkey-area hidden>
  <p class="or">{{_("or")}}</p>
  <form method="post" action="/sender/passkey/sign-in" data-passkey="sign-in" data-options="/sender/passkey/sign-in/options"
        data-origin="{{origin}}" data-elsewhere="/sender" data-status="passkey-status"
        data-waiting="{{_("Follow your browser's instructions to use your passkey.")}}"
        data-failed="{{_('No passkey was used. Try again, or ask for a sign-in link.')}}">
    <input type="hidden" name="csrf" value="{{pre_csrf}}">
    <input type="hidden" name="next" value="{{target}}">
    <input type="hidden" name="ceremony" value="">
    <input type="hidden" name="credential" value="">
    <button type="button" class="secondary" data-passkey-start>{{_("Sign in with a passkey")}}</button>
  </form>
  <p id="passkey-status" class="hint" role="status" aria-live="polite"></p>
</div>
<script src="/static/passkey.js" nonce="{{nonce}}" defer></script>
