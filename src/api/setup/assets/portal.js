// Live validation for the onboarding portal: while the customer types, the form is checked by
// the server (POST /setup/validate, the API's own rules and messages) and each message is put
// under its field. The page works without this script; it only saves a round trip.
(function () {
  "use strict";
  var form = document.getElementById("provider-form");
  if (!form || !window.fetch || !window.URLSearchParams) { return; }
  var timer = null;
  function show(errors) {
    var fields = form.querySelectorAll("[data-field]");
    for (var i = 0; i < fields.length; i++) {
      var name = fields[i].getAttribute("data-field");
      var input = document.getElementById("f-" + name);
      var slot = document.getElementById("e-" + name);
      var message = errors[name] || "";
      if (slot) { slot.textContent = message; }
      if (input) {
        if (message) { input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
      }
    }
  }
  function check() {
    var data = new URLSearchParams(new FormData(form));
    data.delete("token");
    data.set("action", "validate");
    fetch("/setup/validate", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: data.toString()
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && body.errors) { show(body.errors); } })
      .catch(function () { /* the server checks again on every button */ });
  }
  form.addEventListener("input", function (e) {
    if (e.target && e.target.name === "token") { return; }
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, 500);
  });
})();
