/* Small progressive enhancements; every page works without them. No inline handlers (CSP). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var text = form.getAttribute("data-confirm");
        if (text && !window.confirm(text)) { event.preventDefault(); }
      });
    });
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    var toggle = document.querySelector("[data-toggle-nav]");
    if (toggle) {
      toggle.addEventListener("click", function () { document.getElementById("main-nav").classList.toggle("open"); });
    }
  });
})();
