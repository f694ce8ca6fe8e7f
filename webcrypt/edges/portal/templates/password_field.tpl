% # One password field with its hint, its error and a show/hide button (static/reveal.js shows the
% # button; without script it stays hidden, and so does the password). No maxlength or minlength:
% # a manager's long suggestion must not be cut, and the server says what is wrong in the page's language.
% described = " ".join(part for part, present in ((name + "-hint", hint), (name + "-error", error)) if present)
<label for="{{name}}">{{label}}</label>
<div class="secret">
  <input id="{{name}}" name="{{name}}" type="password" autocomplete="{{complete}}" required value="{{value}}"{{!' autofocus' if focus == name else ''}}{{!' aria-invalid="true"' if error else ''}}{{!(' aria-describedby="%s"' % described) if described else ''}}>
  <button type="button" class="reveal secondary" data-reveal="{{name}}" aria-controls="{{name}}" aria-pressed="false" hidden>{{_("Show password")}}</button>
</div>
% if hint:
<p id="{{name}}-hint" class="hint">{{hint}}</p>
% end
% if error:
<p id="{{name}}-error" class="field-error">{{error}}</p>
% end
