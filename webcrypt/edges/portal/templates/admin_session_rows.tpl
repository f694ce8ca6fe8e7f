% # The sessions table of the console: one's own (with a button to end each other one) or a recipient's.
<div class="scroll"><table>
<thead><tr><th>{{_("Browser and system")}}</th><th>{{_("Address")}}</th><th>{{_("Started")}}</th><th>{{_("Last active")}}</th>{{!"<th>" + _("Action") + "</th>" if ending else ""}}</tr></thead>
<tbody>
% for number, listed in enumerate(active_sessions):
<tr><td id="session-{{number}}">{{listed.device.label(on=_("{browser} on {system}"), unknown=_("Unknown browser"))}}{{!' <strong>(' + _("this session") + ')</strong>' if listed.current else ''}}</td>
<td>{{listed.client or "-"}}</td><td>{{date(listed.created)}}</td><td>{{date(listed.last_seen)}}</td>
% if ending:
<td>
% if not listed.current:
<form method="post" action="{{url('/sessions/end')}}"><input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="session" value="{{listed.handle}}">
<button aria-describedby="session-{{number}}">{{_("End session")}}</button></form>
% end
</td>
% end
</tr>
% end
</tbody></table></div>
