% rebase('base.tpl', title=_("Reply securely"))
<h1>{{_("Reply securely")}}</h1>
<p>{{_("Your reply goes encrypted to")}} <strong>{{record.sender}}</strong>.</p>
% if error:
<p class="error" role="alert">{{error[:1].upper() + error[1:]}}</p>
% end
<form method="post" action="/message/{{upload}}/reply" enctype="multipart/form-data" class="stack">
  <input type="hidden" name="csrf" value="{{csrf}}">
  % if copies:
  <fieldset>
    <legend>{{_("Copy to the original recipients")}}</legend>
    % for i, address in enumerate(copies):
    <label class="check"><input type="checkbox" name="cc" value="{{address}}" id="cc{{i}}" {{'checked' if address in draft.cc else ''}}> {{address}}</label>
    % end
  </fieldset>
  % end
  <label for="subject">{{_("Subject")}}</label>
  <input id="subject" name="subject" value="{{draft.subject}}" maxlength="900" required>
  <label for="text">{{_("Message")}}</label>
  <textarea id="text" name="text" rows="14" required>{{draft.text}}</textarea>
  <label for="attachment">{{_("Attachments")}}</label>
  % if draft.attachments:
  <p class="hint">{{_("Please choose your attachments again.")}}</p>
  % end
  <input id="attachment" name="attachment" type="file" multiple>
  <p class="hint">{{_("At most")}} {{fmt_size(limit)}}.</p>
  <button type="submit">{{_("Send reply")}}</button>
</form>
<p><a href="/message/{{upload}}">{{_("Back to the message")}}</a></p>
