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
    document.querySelectorAll("input[data-tenant-lookup]").forEach(tenantSuggestions);
    var toggle = document.querySelector("[data-toggle-nav]");
    if (toggle) {
      toggle.addEventListener("click", function () { document.getElementById("main-nav").classList.toggle("open"); });
    }
  });

  /* Suggestions for a tenant filter box: names containing what was typed, fetched as JSON (at most 20). */
  function tenantSuggestions(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var term = input.value.trim();
        if (!term || !list) { return; }
        fetch(input.getAttribute("data-tenant-lookup") + "?q=" + encodeURIComponent(term),
              {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (tenants) {
            list.replaceChildren.apply(list, tenants.map(function (tenant) {
              var option = document.createElement("option");
              option.value = tenant.name;
              return option;
            }));
          })
          .catch(function () { /* suggestions are a convenience; typing still filters */ });
      }, 200);
    });
  }
})();
