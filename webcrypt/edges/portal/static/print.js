// The print view's Print button: shown only when this script runs (without JavaScript the page
// says to use the browser's Print command), it opens the browser's print dialog.
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  var hint = document.querySelector("[data-print-hint]");
  if (!button || typeof window.print !== "function") return;
  button.hidden = false;
  if (hint) hint.hidden = true;
  button.addEventListener("click", function () { window.print(); });
})();
