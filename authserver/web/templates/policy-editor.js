"use strict";
// The API token form's policy editor and the copy button. Everything here is
// an enhancement: without JavaScript the server validates on submit and
// re-renders the form with the error in place. See docs/web-pages.md.
(function () {
  var form = document.getElementById("token-form");
  if (form) {
    var area = document.getElementById("policy");
    var box = document.getElementById("custom-policy");
    var out = document.getElementById("policy-error");
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var custom = function () {
      var r = form.querySelector("input[name=preset]:checked");
      return r && r.value === "custom";
    };
    var show = function (msg) {
      out.textContent = msg;
      out.hidden = msg === "";
      area.setAttribute("aria-invalid", msg === "" ? "false" : "true");
    };
    var seq = 0;
    var validate = function () {
      if (!custom()) { show(""); return; }
      var mine = ++seq;
      var body = new URLSearchParams({ policy: area.value });
      fetch(form.dataset.validate, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
        body: body
      }).then(function (r) { return r.json(); }).then(function (v) {
        if (mine !== seq) { return; }
        show(v.valid ? "" : v.message + (v.pointer ? " (at " + v.pointer + ")" : ""));
      }).catch(function () { /* the server checks again on submit */ });
    };
    var timer;
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(validate, 250); });
    var sync = function () { box.hidden = !custom(); validate(); };
    form.querySelectorAll("input[name=preset]").forEach(function (r) { r.addEventListener("change", sync); });
    box.hidden = !custom();
    if (custom() && area.getAttribute("aria-invalid") !== "true") { validate(); }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var src = document.getElementById(b.dataset.copy);
      var done = function () { b.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(src.value).then(done, function () { src.select(); });
      } else {
        src.select();
        if (document.execCommand("copy")) { done(); }
      }
    });
  });
})();
