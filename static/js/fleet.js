/* Live progress of a fleet release: polls [data-fleet-status-url] every 2 s while the release is active and
   updates the state (in words), the progress bar, the counts per state, the controls that apply, the audit
   chart (outcomes and durations) and the table of mini-programs. No inline script (CSP). */
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
    var canary = body.getAttribute("data-canary") || "canary";
    while (body.firstChild) { body.removeChild(body.firstChild); }
    items.forEach(function (item) {
      var tr = document.createElement("tr");
      cell(tr, item.name);
      if (item.canary) {
        var small = document.createElement("small");
        small.className = "muted";
        small.textContent = " " + canary;
        tr.lastChild.appendChild(small);
      }
      cell(tr, item.appid, "code");
      cell(tr, item.tenant || "—");
      cell(tr, item.state_label || item.state, "badge fleet-" + item.state);
      cell(tr, item.step_label || item.step);
      cell(tr, item.reason + (item.errcode ? " (" + item.errcode + ")" : ""));
      cell(tr, item.auditid);
      body.appendChild(tr);
    });
  }
  function bar(root, key, value, max) {
    var rect = root.querySelector('[data-bar="' + key + '"]');
    var label = root.querySelector('[data-bar-value="' + key + '"]');
    var width = Math.round(2600 * value / max) / 10;
    if (rect) { rect.setAttribute("width", width); }
    if (label) { label.setAttribute("x", 115 + width); label.textContent = value; }
  }
  function chart(root, data) {
    if (!data) { return; }
    Object.keys(data.outcomes).forEach(function (name) { bar(root, "outcome-" + name, data.outcomes[name], data.max); });
    data.durations.forEach(function (pair, index) { bar(root, "duration-" + index, pair[1], data.max); });
  }
  function controls(root, allowed) {
    root.querySelectorAll("[data-fleet-control]").forEach(function (form) {
      form.hidden = allowed.indexOf(form.getAttribute("data-fleet-control")) < 0;
    });
    var none = root.querySelector("[data-fleet-no-controls]");
    if (none) { none.hidden = allowed.length > 0; }
    var help = root.querySelector("[data-fleet-controls-help]");
    if (help) { help.hidden = allowed.length === 0; }
  }
  function update(root, data) {
    var bar = root.querySelector("[data-fleet-progress]");
    if (bar) { bar.value = data.percent; }
    text(root, "[data-fleet-percent]", data.percent);
    text(root, "[data-fleet-settled]", data.settled);
    var state = root.querySelector("[data-fleet-state]");
    if (state) { state.textContent = data.state_label || data.state; state.className = "badge fleet-" + data.state; }
    text(root, "[data-fleet-reason]", data.stop_reason);
    text(root, "[data-fleet-finished]", data.finished ? " · " + data.finished : "");
    Object.keys(data.counts).forEach(function (state) {
      text(root, '[data-fleet-count="' + state + '"]', data.counts[state]);
    });
    chart(root, data.chart);
    controls(root, data.controls || []);
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
