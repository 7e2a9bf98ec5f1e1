/* Live progress of a fleet release: polls [data-fleet-status-url] every 2 s while the release is active and
   updates the progress bar, the counts per state and the table of mini-programs. No inline script (CSP). */
(function () {
  "use strict";
  function text(root, selector, value) {
    var el = root.querySelector(selector);
    if (el) { el.textContent = value; }
  }
  function cell(row, value, className) {
    var td = document.createElement("td");
    if (className) {
      var span = document.createElement(className === "code" ? "code" : "span");
      if (className !== "code") { span.className = className; }
      span.textContent = value;
      td.appendChild(span);
    } else { td.textContent = value; }
    row.appendChild(td);
  }
  function rows(body, items) {
    if (!body) { return; }
    var labels = JSON.parse(body.getAttribute("data-labels") || "{}");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    items.forEach(function (item) {
      var tr = document.createElement("tr");
      cell(tr, item.name);
      cell(tr, item.appid, "code");
      cell(tr, item.tenant || "—");
      cell(tr, labels[item.state] || item.state, "badge fleet-" + item.state);
      cell(tr, item.step);
      cell(tr, item.reason + (item.errcode ? " (" + item.errcode + ")" : ""));
      cell(tr, item.auditid);
      body.appendChild(tr);
    });
  }
  function update(root, data) {
    var bar = root.querySelector("[data-fleet-progress]");
    if (bar) { bar.value = data.percent; }
    text(root, "[data-fleet-percent]", data.percent);
    text(root, "[data-fleet-settled]", data.settled);
    text(root, "[data-fleet-state]", data.state);
    text(root, "[data-fleet-reason]", data.stop_reason);
    Object.keys(data.counts).forEach(function (state) {
      text(root, '[data-fleet-count="' + state + '"]', data.counts[state]);
    });
    rows(document.querySelector("[data-fleet-rows]"), data.rows);
  }
  function poll(root) {
    fetch(root.getAttribute("data-fleet-status-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        update(root, data);
        if (data.active) { window.setTimeout(function () { poll(root); }, 2000); }
      })
      .catch(function () { window.setTimeout(function () { poll(root); }, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("fleet-live");
    if (root && root.getAttribute("data-active") === "1") { window.setTimeout(function () { poll(root); }, 2000); }
  });
})();
