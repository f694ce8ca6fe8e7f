/* Tells the portal the browser's time zone (Intl's name, such as "Europe/Berlin") in a cookie, so
   that the next pages show dates in the reader's own time. Without script the portal uses its
   configured zone; the portal checks the name and ignores one it does not know. */
(function () {
  "use strict";
  var script = document.currentScript;
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  if (!script || !/^[A-Za-z0-9_+\/-]{1,64}$/.test(zone)) {
    return;
  }
  var pair = script.getAttribute("data-cookie") + "=" + zone;
  if (document.cookie.split("; ").indexOf(pair) !== -1) {
    return;
  }
  document.cookie = pair + "; Path=/; Max-Age=31536000; SameSite=Lax" +
    (script.getAttribute("data-secure") === "1" ? "; Secure" : "");
}());
