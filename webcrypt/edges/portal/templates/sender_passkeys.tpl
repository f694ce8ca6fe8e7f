% rebase('base.tpl', title=_("Passkeys"))
<h1>{{_("Passkeys")}}</h1>
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
<p>{{_("With a passkey you sign in to the sender page with your fingerprint, face or device PIN, without waiting for a link.")}}</p>
% if passkeys:
<table class="list">
  <caption class="visually-hidden">{{_("Your passkeys")}}</caption>
  <thead><tr><th scope="col">{{_("Name")}}</th><th scope="col">{{_("Created")}}</th><th scope="col">{{_("Last used")}}</th><th scope="col">{{_("Actions")}}</th></tr></thead>
  <tbody>
  % for key in passkeys:
  <tr>
    <td>{{key.name}}</td>
    <td>{{!when(key.created)}}</td>
    <td>{{!when(key.last_used) if key.last_used else _("never")}}</td>
    <td>
      <form method="post" action="/sender/passkey/{{key.id}}/remove" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="secondary" aria-label="{{_('Remove passkey')}} {{key.name}}">{{_("Remove")}}</button>
      </form>
    </td>
  </tr>
  % end
  </tbody>
</table>
% end
<div data-passkey-area hidden>
  <form method="post" action="/sender/passkey/add" data-passkey="add" data-options="/sender/passkey/add/options"
        data-origin="{{origin}}" data-elsewhere="/sender/passkeys" data-status="passkey-status" class="row"
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
