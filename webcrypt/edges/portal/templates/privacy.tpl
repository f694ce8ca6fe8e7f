% rebase('base.tpl', title=_("Privacy"))
<h1>{{_("Privacy")}}</h1>
<h2>{{_("What the sender of a message can see")}}</h2>
% if senders:
<ul>
<li>{{_("whether you have opened it (not opened yet, or opened)")}}</li>
% if times:
<li>{{_("when you opened it first and last")}}</li>
% end
<li>{{_("whether you replied to it here")}}</li>
<li>{{_("whether your account here is active, locked or disabled (never your password)")}}</li>
% if times:
<li>{{_("a read receipt, if the sender asked for one: a short mail when you first open the message, with the time")}}</li>
% else:
<li>{{_("a read receipt, if the sender asked for one: a short mail that you have opened the message, without the time")}}</li>
% end
% if subjects:
<li>{{_("the subject of the message, to recognise it by: it is kept encrypted with the message and destroyed with it")}}</li>
% end
</ul>
<p>{{_("The sender never sees your password, your confidential question, or what you do in the portal beyond this. The sender can recall a message or give it more time.")}}</p>
% else:
<p>{{_("The senders of your messages see nothing of what you do here.")}}</p>
% end
<p>{{_("Nothing of a message's content is kept here once it expires or is recalled. The administrators of the service see the same as the sender, and a record of sign-ins.")}}</p>
