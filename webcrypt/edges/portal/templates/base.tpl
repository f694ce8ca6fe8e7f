<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}} – {{brand['name']}}</title>
<link rel="stylesheet" href="/static/portal.css">
<style nonce="{{nonce}}">:root{--brand:{{brand['color']}}}</style>
</head>
<body>
<a class="skip" href="#main">{{_("Skip to content")}}</a>
<header class="top">
  <div class="brand">
    % if brand.get('logo_url'):
    <img src="{{brand['logo_url']}}" alt="" class="logo">
    % end
    <span class="name">{{brand['name']}}</span>
    % if brand.get('organisation'):
    <span class="org">{{brand['organisation']}}</span>
    % end
  </div>
  <nav aria-label="{{_('Menu')}}">
    % if recipient is not None and session is not None:
    <a href="/profile">{{_("Profile")}}</a>
    <form method="post" action="/logout" class="inline">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <button type="submit" class="link">{{_("Log out")}}</button>
    </form>
    % end
    % if get('sender') is not None and session is not None:
    <a href="/sender/messages">{{_("Sent secure mail")}}</a>
    <a href="/sender/passkeys">{{_("Passkeys")}}</a>
    <form method="post" action="/sender/logout" class="inline">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <button type="submit" class="link">{{_("Sign out")}}</button>
    </form>
    % end
    % for other, other_name in languages.items():
    % if other != lang:
    <a href="{{language_link(other, get('upload'))}}" lang="{{other}}" hreflang="{{other}}">{{other_name}}</a>
    % end
    % end
  </nav>
</header>
<main id="main" tabindex="-1">
{{!base}}
</main>
<footer>
  % if get('contact') and not get('contact_in_page'):
  <p class="contact"><strong>{{_("Questions?")}}</strong> {{contact}}</p>
  % end
  <p>{{brand['name']}}{{(' · ' + brand['organisation']) if brand.get('organisation') else ''}} · <a href="/privacy">{{_("Privacy")}}</a> · <a href="/accessibility">{{_("Accessibility")}}</a></p>
</footer>
<script src="/static/timezone.js" nonce="{{nonce}}" data-cookie="{{zone_cookie}}" data-secure="{{secure_cookie}}" defer></script>
</body>
</html>
