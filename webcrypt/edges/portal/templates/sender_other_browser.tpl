% rebase('base.tpl', title=_("Open the link in the right browser"))
<h1>{{_("Open the link in the right browser")}}</h1>
<p>{{_("This sign-in link works only in the browser where you asked for it. Please copy the link into that browser, or ask for a new link here.")}}</p>
<p><a class="button" href="/sender">{{_("Ask for a new sign-in link")}}</a></p>
