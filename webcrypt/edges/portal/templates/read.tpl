% rebase('base.tpl', title=view.subject or _("(no subject)"))
<article class="message">
<h1>{{view.subject or _("(no subject)")}}</h1>
<dl class="headers">
  <dt>{{_("From")}}</dt><dd>{{view.sender or record.sender}}</dd>
  <dt>{{_("Date")}}</dt><dd>{{!mail_date(view.date, record.created)}}</dd>
</dl>
<details class="more-headers">
  <summary>{{_("Recipients and how long it can be read")}}</summary>
  <dl class="headers">
    <dt>{{_("To")}}</dt><dd>{{view.to}}</dd>
    % if view.cc:
    <dt>{{_("Cc")}}</dt><dd>{{view.cc}}</dd>
    % end
    <dt>{{_("Readable until")}}</dt><dd>{{!when(record.expires)}}</dd>
  </dl>
</details>
% if view.html is not None:
<iframe class="body" data-fit title="{{_('Message text')}}" src="/message/{{upload}}/body" sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer"></iframe>
<script src="/static/frame.js" nonce="{{nonce}}" defer></script>
% else:
<pre class="body">{{view.text or ''}}</pre>
% end
% if view.remote_blocked:
<p class="notice" role="status">{{_("Remote images and styles in this message were blocked to protect your privacy.")}}</p>
% end
% if view.attachments:
<h2>{{_("Attachments")}}</h2>
<ul class="attachments">
  % for item in view.attachments:
  <li><a href="/message/{{upload}}/part/{{item.index}}" download>{{item.filename}}</a> <span class="size">({{fmt_size(item.size)}})</span></li>
  % end
</ul>
% end
<p class="actions">
  <a class="button" href="/message/{{upload}}/reply">{{_("Reply securely")}}</a>
  <a class="button secondary" href="/message/{{upload}}/eml" download>{{_("Download message (.eml)")}}</a>
  <a class="button secondary" href="/message/{{upload}}/print">{{_("Print")}}</a>
</p>
<p class="hint no-print">{{_("Downloaded files and messages are no longer encrypted: keep them safe.")}}</p>
</article>
% if offer_passkey:
% include('passkey_offer.tpl')
<script src="/static/passkey.js" nonce="{{nonce}}" defer></script>
% end
