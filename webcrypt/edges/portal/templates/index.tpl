% rebase('base.tpl', title=_("Secure messages"))
<h1>{{_("Secure messages")}}</h1>
% if welcome:
<p class="welcome">{{welcome}}</p>
% end
% if bye:
<p class="notice" role="status">{{_("You are logged out. Close the browser window if you share this computer.")}}</p>
% end
<p>{{_("To read a confidential message, open the attachment secure.htm of the mail you received in your web browser.")}}</p>
<p><a class="button" href="/login">{{_("Log in")}}</a></p>
