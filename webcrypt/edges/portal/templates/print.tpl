<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{view.subject or _("(no subject)")}} – {{brand['name']}}</title>
<link rel="stylesheet" href="/static/portal.css">
<style nonce="{{nonce}}">:root{--brand:{{brand['color']}}}</style>
</head>
<body class="print-view">
<nav class="print-tools" aria-label="{{_('Print')}}">
  <a href="/message/{{upload}}">{{_("Back to the message")}}</a>
  <button type="button" data-print hidden>{{_("Print")}}</button>
  <span class="hint" data-print-hint>{{_("To print, use your browser's Print command (Ctrl+P, or ⌘+P on a Mac).")}}</span>
</nav>
<main id="main" class="message">
<h1>{{view.subject or _("(no subject)")}}</h1>
<dl class="headers">
  <dt>{{_("From")}}</dt><dd>{{view.sender or record.sender}}</dd>
  <dt>{{_("Date")}}</dt><dd>{{!mail_date(view.date, record.created)}}</dd>
  <dt>{{_("To")}}</dt><dd>{{view.to}}</dd>
  % if view.cc:
  <dt>{{_("Cc")}}</dt><dd>{{view.cc}}</dd>
  % end
</dl>
% if view.html is not None:
<div class="body printed-html">{{!view.html}}</div>
% else:
<pre class="body">{{view.text or ''}}</pre>
% end
% if view.attachments:
<h2>{{_("Attachments")}}</h2>
<ul class="attachments">
  % for item in view.attachments:
  <li>{{item.filename}} <span class="size">({{fmt_size(item.size)}})</span></li>
  % end
</ul>
% end
</main>
<script src="/static/print.js" nonce="{{nonce}}" defer></script>
</body>
</html>
