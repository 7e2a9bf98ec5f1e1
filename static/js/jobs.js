/* Live status of background jobs: polls each [data-job-url] until the job ends, then reloads the page once
   so the new versions and audits show. No inline script (CSP). */
(function () {
  "use strict";
  var LABELS = { queued: null, running: null, retrying: null, done: null, failed: null };
  function poll(item) {
    var url = item.getAttribute("data-job-url");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        item.className = "job job-" + job.state;
        var state = item.querySelector("[data-job-state]");
        if (state && LABELS[job.state] !== undefined) { state.textContent = item.getAttribute("data-label-" + job.state) || job.state; }
        var message = item.querySelector("[data-job-message]");
        if (message) { message.textContent = job.message || ""; }
        if (job.active) { window.setTimeout(function () { poll(item); }, 2000); }
        else { window.setTimeout(function () { window.location.reload(); }, 800); }
      })
      .catch(function () { window.setTimeout(function () { poll(item); }, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-job-url]").forEach(function (item) { window.setTimeout(function () { poll(item); }, 1000); });
  });
})();
