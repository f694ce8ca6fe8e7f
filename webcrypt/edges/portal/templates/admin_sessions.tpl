% rebase('admin_base.tpl', title=title)
% if message:
<p class="{{'error' if failed else 'notice'}}" role="{{'alert' if failed else 'status'}}">{{message}}</p>
% end
<p>{{_("Where you are logged in to the console now (times in UTC). If you do not recognise a session, end it and change your password.")}}</p>
% include('admin_session_rows.tpl', ending=True)
% if len(active_sessions) > 1:
<form method="post" action="{{url('/sessions/end-others')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<button>{{_("Log out everywhere else")}}</button></form>
% end
