% rebase('admin_base.tpl', title=title)
% if message:
<p class="error" role="alert">{{message}}</p>
% end
<form method="post" action="{{url('/login')}}">
<input type="hidden" name="csrf" value="{{login_token}}">
<input type="hidden" name="next" value="{{next}}">
<label for="name">{{_("Name")}}</label>
<input id="name" name="name" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">{{_("Password")}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">{{_("Log in")}}</button></p>
</form>
