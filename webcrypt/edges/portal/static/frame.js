// The message page: the HTML body's frame sized to its content, so the page scrolls and the frame
// does not (no scroll inside scroll, no blank space under a short mail). Without this script the
// frame keeps the fixed height of portal.css and scrolls inside.
//
// Why reading the frame is safe: the frame is same-origin only so that this script can read its
// height. Nothing in it can run script: the iframe's sandbox has no allow-scripts, the body's own
// response carries a CSP with default-src 'none' (no script-src) and a CSP sandbox without
// allow-scripts (so also when /body is opened on its own), and nh3 has removed scripts, event
// handlers and javascript: links before. Same origin without script gives the mail no way to
// reach this page, its cookies (HttpOnly anyway) or its forms. This script takes one number from
// the frame (a DOM-clobbering mail can at worst make it wrong: it is clamped) and never copies
// anything of the mail into this page.
(function () {
  "use strict";
  var LARGEST = 200000; // px: a bound for a nonsensical height, far above any real mail
  var frame = document.querySelector("iframe.body[data-fit]");
  if (!frame) return;

  function documentOf() {
    try {
      var doc = frame.contentDocument;
      return doc && doc.readyState === "complete" && doc.documentElement ? doc : null;
    } catch (e) {
      return null; // not readable (another origin): keep the fixed height
    }
  }

  function fit() {
    var doc = documentOf();
    if (!doc) return;
    var root = doc.documentElement;
    var borders = frame.offsetHeight - frame.clientHeight;
    var content = Math.ceil(Number(root.getBoundingClientRect().height) || 0);
    var height = Math.min(Math.max(content, 16), LARGEST);
    frame.classList.add("fitted");
    frame.style.height = height + borders + "px";
    var overflow = Number(root.scrollHeight) - Number(root.clientHeight); // e.g. a sideways scrollbar
    if (overflow > 0) frame.style.height = Math.min(height + overflow, LARGEST) + borders + "px";
  }

  var pending = false;
  function fitSoon() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; fit(); });
  }

  frame.addEventListener("load", fit); // after the frame's images, which can change its height
  window.addEventListener("resize", fitSoon); // a turned phone reflows the text
  fit(); // loaded before this script ran
})();
