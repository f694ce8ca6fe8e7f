<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}} - {{brand['name']}} admin</title>
<style nonce="{{nonce}}">
:root{--brand:{{brand['color']}}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a;line-height:1.45}
a{color:var(--brand)}
.skip{position:absolute;left:-999px}.skip:focus{left:.5rem;top:.5rem;background:#fff;padding:.5rem;z-index:2}
header{background:var(--brand);color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
header a,header button{color:#fff}
header strong{margin-right:auto}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
nav a[aria-current]{font-weight:bold;text-decoration:underline}
main{max-width:72rem;margin:1rem auto;background:#fff;padding:1rem;border-radius:4px}
h1{font-size:1.4rem;margin-top:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #dde;vertical-align:top}
td.num,th.num{text-align:right}
form.inline{display:inline-flex;flex-wrap:wrap;gap:.25rem;align-items:end;margin:.25rem 0}
label{display:block;font-weight:600;margin:.5rem 0 .15rem}
input,select,textarea,button{font:inherit;padding:.45rem .6rem;border:1px solid #889;border-radius:4px;max-width:100%}
textarea{width:100%;min-height:5rem}
button{background:var(--brand);color:#fff;border-color:var(--brand);cursor:pointer}
button.danger{background:#a4161a;border-color:#a4161a}
header button{background:transparent;border-color:#fff}
/* WCAG 1.4.11: a dark ring on light ground, a white one on the brand colour, each with a ring of
   the other colour inside, so one of them has 3:1 against whatever is next to it */
:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px;box-shadow:0 0 0 2px #fff}
header :focus-visible{outline-color:#fff;box-shadow:0 0 0 2px #1a1a1a}
.scroll:focus-visible{outline-offset:-3px;box-shadow:none}
.hint{display:block;color:#555;font-size:.85rem;font-weight:normal}
code.id{overflow-wrap:anywhere;font-size:.85rem}
tr.row-actions td{border-bottom:2px solid #dde;padding-top:0}
tr:has(+ tr.row-actions) td{border-bottom:0}
.actions{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:end}
.swatches{display:flex;flex-wrap:wrap;gap:1rem;margin:.5rem 0}
.swatch{border:1px solid #889;border-radius:4px;min-width:14rem;background:#fff}
.swatch p{margin:.4rem .6rem}
.swatch .bar{background:var(--swatch);color:#fff;padding:.4rem .6rem;font-weight:bold;margin:0}
.swatch .plain{height:2.4rem;background:var(--swatch)}
.swatch .sample-button{display:inline-block;background:var(--swatch);color:#fff;padding:.35rem .8rem;border-radius:4px}
.swatch .sample-link{color:var(--swatch);text-decoration:underline}
% for number, swatch in enumerate(get('swatches') or ()):
.swatch-{{number}}{--swatch:{{swatch['color']}}}
% end
.notice{background:#e8f4e8;border-left:4px solid #2e7d32;padding:.5rem .75rem}
.error{background:#fdecea;border-left:4px solid #a4161a;padding:.5rem .75rem}
.warning{background:#fff4e5;border-left:4px solid #b26a00;padding:.5rem .75rem}
.secret{font-family:ui-monospace,monospace;font-size:1.2rem;background:#f4f6f8;padding:.25rem .5rem;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f6f8;padding:.5rem;border-radius:4px}
.spark{font-family:ui-monospace,monospace;letter-spacing:-1px;white-space:pre}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
fieldset{border:1px solid #dde;border-radius:4px;margin:1rem 0}
[hidden]{display:none!important}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
ol.codes{columns:2 12rem}
@media (max-width:40rem){main{margin:0;border-radius:0}th,td{padding:.3rem}}
</style>
</head>
<body>
<a class="skip" href="#content">{{_("Skip to content")}}</a>
<header>
<strong>{{brand['name']}} admin</strong>
% if admin:
<nav aria-label="{{_("Main menu")}}"><ul>
% for path, label in (("/", "Monitoring"), ("/users", "Users"), ("/messages", "Messages"), ("/branding", "Corporate identity"), ("/settings", "Mail settings"), ("/audit", "Audit trail"), ("/sessions", "Your sessions"), ("/passkeys", "Passkeys"), ("/second-factor", "Second factor")):
<li><a href="{{url(path)}}"{{!' aria-current="page"' if here == url(path) else ''}}>{{_(label)}}</a></li>
% end
</ul></nav>
% end
% for other, other_name in languages.items():
% if other != lang:
<a href="{{language_link(other)}}" lang="{{other}}" hreflang="{{other}}">{{other_name}}</a>
% end
% end
% if admin:
<form class="inline" method="post" action="{{url('/logout')}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<button>{{_("Log out")}} ({{admin}})</button>
</form>
% end
</header>
<main id="content">
<h1>{{title}}</h1>
% if get('recovery_codes_low') is not None:
<p class="warning" role="status">{{_("Recovery codes left: {left}. Make a new set before you run out.").format(left=recovery_codes_low)}} <a href="{{url('/second-factor')}}">{{_("Second factor")}}</a></p>
% end
{{!base}}
</main>
</body>
</html>
