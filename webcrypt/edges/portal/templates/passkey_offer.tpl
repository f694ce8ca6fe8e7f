<aside class="notice offer" aria-labelledby="passkey-offer-title">
<h2 id="passkey-offer-title">{{_("Sign in faster next time with a passkey")}}</h2>
<p>{{_("A passkey lets you sign in with your fingerprint, face or device PIN instead of your password. It stays on your device; nobody can guess it or steal it by mail.")}}</p>
<div data-passkey-area hidden>
  <form method="post" action="/passkey/add" data-passkey="add" data-options="/passkey/add/options"
        data-origin="{{origin}}" data-elsewhere="/profile" data-status="passkey-offer-status"
        data-waiting="{{_("Follow your browser's instructions to create your passkey.")}}"
        data-failed="{{_('No passkey was created. You can add one later in your profile.')}}">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="next" value="{{path}}">
    <input type="hidden" name="ceremony" value="">
    <input type="hidden" name="credential" value="">
    <p class="actions">
      <button type="button" data-passkey-start>{{_("Add a passkey")}}</button>
      <a class="button secondary" href="{{path}}">{{_("Not now")}}</a>
    </p>
  </form>
  <p id="passkey-offer-status" class="hint" role="status" aria-live="polite"></p>
</div>
<p class="hint">{{_("You can add a passkey at any time in your profile.")}}</p>
</aside>
