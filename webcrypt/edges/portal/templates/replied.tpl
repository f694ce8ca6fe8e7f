% rebase('base.tpl', title=_("Reply sent"))
<h1>{{_("Reply sent")}}</h1>
<p class="notice" role="status">{{_("Your reply was sent securely.")}}</p>
<p><a class="button" href="/message/{{upload}}">{{_("Back to the message")}}</a></p>
