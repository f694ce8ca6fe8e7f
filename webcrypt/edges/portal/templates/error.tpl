% rebase('base.tpl', title=title)
<h1>{{title}}</h1>
<p class="error" role="alert">{{detail[:1].upper() + detail[1:]}}</p>
% if status in (401, 404, 410):
<p><a class="button" href="/login{{('?upload=' + resume) if get('resume') else ''}}">{{_("Log in")}}</a></p>
% else:
<p><a href="/">{{_("Back to the start page")}}</a></p>
% end
