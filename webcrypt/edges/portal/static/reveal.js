// Show/hide for password fields: each field's button (hidden in the page, shown only when this
// script runs, so that without script the password simply stays hidden) turns the field into a
// text field and back. The button's name stays "Show password"; aria-pressed tells its state, as
// WAI-ARIA's toggle-button pattern says. Before the form is sent every field is hidden again, so
// that no browser offers to remember a typed password as ordinary text.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-reveal]");
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute("data-reveal"));
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var shown = field.type === "password";
      field.type = shown ? "text" : "password";
      button.setAttribute("aria-pressed", shown ? "true" : "false");
    });
    if (field.form) {
      field.form.addEventListener("submit", function () {
        field.type = "password";
        button.setAttribute("aria-pressed", "false");
      });
    }
  });
})();
