// Passkeys in the portal and the console: the one script that calls the WebAuthn browser API.
// Progressive: every passkey control is hidden until this script finds WebAuthn, so a browser
// without it (or without JavaScript) shows the password forms only.
//
// A control is a <form data-passkey="sign-in|add" data-options="URL" data-origin="ORIGIN"> holding
// hidden inputs "ceremony" and "credential" and a button[data-passkey-start]. The button asks the
// server for the ceremony's options (POST, the form's own fields: its CSRF token), hands them to
// navigator.credentials, puts the answer into the form and submits it: the server's answer is a
// page, in the reader's language, like any form's.
(function () {
  "use strict";

  function decode(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function encode(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: decode(item.id) });
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: decode(json.challenge),
      user: Object.assign({}, json.user, { id: decode(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: decode(json.challenge),
      allowCredentials: withIds(json.allowCredentials)
    });
  }

  function answerJSON(credential) {
    if (typeof credential.toJSON === "function") return JSON.stringify(credential.toJSON());
    var response = credential.response, out = {};
    ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"].forEach(function (name) {
      if (response[name]) out[name] = encode(response[name]);
    });
    return JSON.stringify({
      id: credential.id, rawId: encode(credential.rawId), type: credential.type,
      response: out, clientExtensionResults: credential.getClientExtensionResults()
    });
  }

  function say(form, text) {
    var status = document.getElementById(form.getAttribute("data-status"));
    if (status) status.textContent = text;
  }

  function fieldsOf(form) {
    var fields = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (element) {
      if (element.name && element.name !== "credential" && element.name !== "ceremony") fields.append(element.name, element.value);
    });
    var address = document.getElementById("address");  // address-first: what was typed on the login form
    if (address && address.value && form.getAttribute("data-passkey") === "sign-in") fields.set("address", address.value);
    return fields;
  }

  function start(form) {
    var creating = form.getAttribute("data-passkey") === "add";
    var origin = form.getAttribute("data-origin");
    if (origin && origin !== window.location.origin) {
      // An old portal address: passkeys belong to the current one. The upload is on the server:
      // the same login page there, with it, and the button pressed again there.
      window.location.assign(origin + form.getAttribute("data-elsewhere"));
      return;
    }
    say(form, form.getAttribute("data-waiting"));
    fetch(form.getAttribute("data-options"), {
      method: "POST", credentials: "same-origin", body: fieldsOf(form),
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      if (!response.ok) throw new Error("options " + response.status);
      return response.json();
    }).then(function (begun) {
      form.elements.ceremony.value = begun.ceremony;
      return creating
        ? navigator.credentials.create({ publicKey: creationOptions(begun.publicKey) })
        : navigator.credentials.get({ publicKey: requestOptions(begun.publicKey) });
    }).then(function (credential) {
      form.elements.credential.value = answerJSON(credential);
      form.submit();
    }).catch(function () {
      say(form, form.getAttribute("data-failed"));
    });
  }

  if (!window.PublicKeyCredential || !navigator.credentials) return;
  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), function (form) {
    var area = form.closest("[data-passkey-area]") || form;
    area.hidden = false;
    var button = form.querySelector("[data-passkey-start]");
    button.addEventListener("click", function () { start(form); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-missing]"), function (note) {
    note.hidden = true;
  });
})();
