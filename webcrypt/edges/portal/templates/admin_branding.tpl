% rebase('admin_base.tpl', title=title)
% if message:
<p class="{{'error' if get('failed') else 'notice'}}" role="status">{{message}}</p>
% end
<form method="post" action="{{url('/branding')}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<div class="grid">
<div><label for="b-name">{{_("Product name")}}</label><input id="b-name" name="name" value="{{stored.get('name', '')}}" placeholder="{{effective['name']}}"></div>
<div><label for="b-org">{{_("Organisation")}}</label><input id="b-org" name="organisation" value="{{stored.get('organisation', '')}}" placeholder="{{effective['organisation']}}"></div>
<div><label for="b-color">{{_("Colour")}}</label><input id="b-color" name="color" value="{{stored.get('color', '')}}" placeholder="{{effective['color']}}" pattern="#[0-9a-fA-F]{6}" aria-describedby="b-color-hint"><span class="hint" id="b-color-hint">{{_("Like #1f4e79; dark enough for white text (4.5:1).")}}</span></div>
<div><label for="b-logo">{{_("Logo (https:// URL)")}}</label><input id="b-logo" name="logo_url" value="{{stored.get('logo_url', '')}}" inputmode="url"></div>
</div>
<h2 id="colour-preview">{{_("Colour preview")}}</h2>
<p>{{_("The header and the buttons show white text on this colour; links and headings use it on white. Both need a contrast of at least 4.5:1.")}}</p>
<div class="swatches">
% for number, swatch in enumerate(swatches):
<div class="swatch swatch-{{number}}" role="group" aria-label="{{swatch['label']}}: {{swatch['color']}}">
% if swatch['passes']:
<p class="bar">{{effective['name']}}</p>
<p><span class="sample-button">{{_("Open message")}}</span> <span class="sample-link">{{_("A link")}}</span></p>
% else:
<div class="plain"></div>
% end
<p><strong>{{swatch['label']}}</strong>: <code>{{swatch['color']}}</code>, {{_("white text")}} {{swatch['ratio']}} ({{_("passes") if swatch['passes'] else _("too light")}})</p>
</div>
% end
</div>
% if effective.get('logo_url'):
<p><img src="{{effective['logo_url']}}" alt="{{effective['name']}}" height="48"></p>
% end
<h2>{{_("Texts")}}</h2>
<p>{{_("Your own words, shown before the built-in text, which always follows. Empty: none.")}}</p>
% for language in languages:
<fieldset lang="{{language}}"><legend>{{languages[language]}}</legend>
% for key in text_keys:
<label for="t-{{language}}-{{key}}">{{label(key)}} <code class="hint">{{key}}</code></label>
<textarea id="t-{{language}}-{{key}}" name="text_{{language}}_{{key}}">{{stored.get('texts', {}).get(language, {}).get(key, '')}}</textarea>
% end
</fieldset>
% end
<p><button type="submit">{{_("Save")}}</button></p>
</form>
<h2>{{_("Preview")}}</h2>
<p><a href="{{url('/branding/preview')}}">{{_("Preview of secure.htm")}}</a></p>
% for key in ('carrier_notice', 'login_data_intro'):
<h3>{{_("Carrier mail" if key == 'carrier_notice' else "Login-data mail")}}</h3>
<pre class="scroll">{{samples[key]}}</pre>
% end
