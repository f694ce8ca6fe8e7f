% rebase('admin_base.tpl', title=title)
<p class="error" role="alert">{{message}}</p>
<p><a href="{{url('/')}}">{{_("Back")}}</a></p>
