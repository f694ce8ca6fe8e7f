% rebase('base.tpl', title=_("Accessibility statement"))
<h1>{{_("Accessibility statement")}}</h1>
<p>{{_("{organisation} wants everyone to be able to use this portal. This statement covers the portal at {url}: the pages for recipients, for senders and the administrators' console.").format(organisation=organisation, url=url)}}</p>
<h2>{{_("Conformance status")}}</h2>
<p>{{_("This portal is partially conformant with {standard}: every page and every check listed below passes, and the known limitations are listed after them.").format(standard=statement.STANDARD)}}</p>
<h2>{{_("How it was checked")}}</h2>
<p>{{_("The tests that come with the portal check it in a real browser (Chromium), in these languages: {languages}.").format(languages=", ".join(language_names))}}</p>
<dl class="checks">
% for check in statement.CHECKS:
<dt>{{_(check.name)}}</dt>
<dd>{{_(check.how)}}
% if check.steps:
<ol>
% for step in check.steps:
<li>{{_(step)}}</li>
% end
</ol>
% end
</dd>
% end
</dl>
<h2>{{_("Pages checked")}}</h2>
% for audience, listed in statement.pages_by_audience().items():
<h3>{{_(statement.AUDIENCES[audience])}}</h3>
<ul>
% for checked in listed:
<li>{{_(checked.name)}}</li>
% end
</ul>
% end
<h2>{{_("Known limitations")}}</h2>
<ul>
% for limitation in statement.LIMITATIONS:
<li>{{_(limitation)}}</li>
% end
</ul>
<h2>{{_("Feedback and contact")}}</h2>
% if contact:
<p>{{_("Tell us about any barrier you meet on these pages:")}} {{contact}}</p>
% else:
<p>{{_("Tell the organisation that sent you the message about any barrier you meet on these pages.")}}</p>
% end
<p>{{_("If our answer does not satisfy you, you can turn to the body that enforces accessibility in your country.")}}</p>
<h2>{{_("Date of this statement")}}</h2>
<p>{{!moments.with_day(_("This statement was prepared on {date} from what the portal's tests check."), statement.STATEMENT_DATE)}}</p>
