% rebase('base.tpl', title=_("Sent secure mail"))
<h1>{{_("Sent secure mail")}}</h1>
<p class="meta">{{_("Signed in as")}} <strong>{{sender.address}}</strong></p>
<form method="get" action="/sender/messages" class="row" role="search" aria-label="{{_('Search')}}">
  <label for="recipient">{{_("Recipient")}}</label>
  <input id="recipient" name="recipient" value="{{typed['recipient']}}" maxlength="320">
  <label for="from">{{_("Sent from")}}</label>
  <input id="from" name="from" type="date" value="{{typed['from']}}">
  <label for="to">{{_("to")}}</label>
  <input id="to" name="to" type="date" value="{{typed['to']}}">
  <button type="submit">{{_("Search")}}</button>
</form>
<p role="status">{{_("Messages found: {count}").format(count=found.total)}}</p>
% if found.rows:
<table class="list">
  <caption class="visually-hidden">{{_("Your sent secure mail, newest first")}}</caption>
  <thead><tr>
    <th scope="col">{{_("Recipient")}}</th>
    % if subject_of:
    <th scope="col">{{_("Subject")}}</th>
    % end
    <th scope="col">{{_("Sent")}}</th><th scope="col">{{_("Size")}}</th><th scope="col">{{_("Expires")}}</th><th scope="col">{{_("Status")}}</th>
  </tr></thead>
  <tbody>
  % for row in found.rows:
  <tr>
    <td><a href="/sender/message/{{row.record.id}}">{{row.record.recipient}}</a></td>
    % if subject_of:
    <td>{{subject_of(row.record) or "–"}}</td>
    % end
    <td>{{!when(row.record.created)}}</td>
    <td>{{fmt_size(row.record.size)}}</td>
    <td>{{!when(row.record.expires)}}</td>
    <td>{{words(row)}}</td>
  </tr>
  % end
  </tbody>
</table>
% if found.pages > 1:
<nav class="row" aria-label="{{_('Pages')}}">
  % if found.page > 1:
  <a href="{{page_link(found.page - 1)}}" rel="prev">{{_("Newer")}}</a>
  % end
  <span aria-current="page">{{_("Page {page} of {pages}").format(page=found.page, pages=found.pages)}}</span>
  % if found.page < found.pages:
  <a href="{{page_link(found.page + 1)}}" rel="next">{{_("Older")}}</a>
  % end
</nav>
% end
% else:
<p>{{_("No message matches.")}}</p>
% end
