% rebase('base.tpl', title=title, contact_in_page=contact_is_next and bool(contact))
<h1>{{title}}</h1>
<p class="error" role="alert">{{detail[:1].upper() + detail[1:]}}</p>
% if next_step:
<p class="next-step">{{next_step}}</p>
% end
% if contact_is_next and contact:
<div class="contact-next">
  <p><strong>{{_("If you need help, please contact:")}}</strong></p>
  <p class="contact">{{contact}}</p>
</div>
% end
% if status == 401:
<p><a class="button" href="/login{{('?upload=' + resume) if get('resume') else ''}}">{{_("Log in")}}</a></p>
% else:
<p><a href="/">{{_("Back to the start page")}}</a></p>
% end
