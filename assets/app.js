// policyvault's own script. Loaded after htmx; no inline scripts (the CSP forbids them).
(function () {
  "use strict";
  // Every htmx request carries the CSRF token from the page's <meta>; plain forms carry it
  // in a hidden field instead.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });
  // Buttons that need a second thought: <button data-confirm="Really?">.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  // Server-sent event streams hold one of the browser's few connections per host (6 over
  // HTTP/1.1), and a page the browser keeps after navigation can keep its streams open,
  // starving the next pages. So every EventSource the SSE extension opens is tracked and
  // closed when the page is hidden; a page restored from the back/forward cache reloads.
  var sources = [];
  if (window.htmx && window.htmx.createEventSource) {
    var open = window.htmx.createEventSource;
    window.htmx.createEventSource = function (url) {
      var source = open(url);
      sources.push(source);
      return source;
    };
  }
  window.addEventListener("pagehide", function () {
    sources.forEach(function (s) { s.close(); });
    sources = [];
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
  // Tenant switcher: navigate on change, no submit button needed.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-navigate]") && event.target.value) {
      window.location.assign(event.target.value);
    }
  });
  // The restore picker of a backup set: nothing ticked at first; filters by type, name and
  // "changed since" hide rows; "select all shown" ticks only the rows left visible.
  function picker(form) {
    var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-item]"));
    var value = function (name) {
      var el = form.querySelector('[data-pick-filter="' + name + '"]');
      return el ? el.value : "";
    };
    var shown = function () { return rows.filter(function (r) { return !r.hidden; }); };
    var box = function (r) { return r.querySelector('input[name="item"]'); };
    var update = function () {
      var ticked = rows.filter(function (r) { var b = box(r); return b && b.checked; }).length;
      var out = form.querySelector("#pv-picked");
      if (out) { out.textContent = ticked + " selected"; }
      form.querySelectorAll('[data-pick="submit"]').forEach(function (submit) { submit.disabled = ticked === 0; });
    };
    var filter = function () {
      var type = value("type"), name = value("name").trim().toLowerCase(), since = value("since");
      rows.forEach(function (r) {
        r.hidden = (type && r.dataset.type !== type) ||
          (name && r.dataset.name.indexOf(name) < 0) ||
          (since && !(r.dataset.changed && r.dataset.changed >= since));
      });
      update();
    };
    var tick = function (on) {
      shown().forEach(function (r) { var b = box(r); if (b) { b.checked = on; } });
      update();
    };
    form.addEventListener("input", function (event) {
      if (event.target.matches("[data-pick-filter]")) { filter(); }
    });
    form.addEventListener("change", function (event) {
      if (event.target.matches('[data-pick="toggle"]')) { tick(event.target.checked); }
      else if (event.target.matches("[data-pick-filter]")) { filter(); }
      else { update(); }
    });
    form.addEventListener("click", function (event) {
      var b = event.target.closest('button[data-pick="all"], button[data-pick="none"]');
      if (b) { tick(b.dataset.pick === "all"); }
    });
    filter();
  }
  // Timestamps: the page says UTC; show the reader's local time, UTC stays on hover.
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  // Local time as the pages write it; UTC stays on hover (the title the server set).
  function local(d, seconds) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + (seconds ? ":" + pad(d.getSeconds()) : "");
  }
  function localize(root) {
    if (!root.querySelectorAll) { return; }
    root.querySelectorAll("time[data-local]:not([data-localized])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) { return; }
      el.textContent = local(d, el.getAttribute("data-local") === "seconds");
      el.setAttribute("data-localized", "");
    });
    // Where markup cannot go (an <option>), the text is a prefix plus the time.
    root.querySelectorAll("[data-local-at]:not([data-localized])").forEach(function (el) {
      var d = new Date(el.getAttribute("data-local-at"));
      if (isNaN(d.getTime())) { return; }
      el.textContent = (el.getAttribute("data-prefix") || "") + local(d, false) + (el.getAttribute("data-suffix") || "");
      el.setAttribute("data-localized", "");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("#pv-restore-picker");
    if (form) { picker(form); }
    localize(document);
    // Fragments swapped in later (htmx, server-sent events) carry timestamps too.
    new MutationObserver(function (changes) {
      changes.forEach(function (c) { c.addedNodes.forEach(function (n) { if (n.nodeType === 1) { localize(n.parentNode || n); } }); });
    }).observe(document.body, { childList: true, subtree: true });
  });
  // Pages follow the runs they show: each time the header's stream says the set of active
  // runs changed (one started or ended), "pv-runs-changed" fires on the body. A start's
  // banner and the overview's cards listen for it; the dashboard's table reloads too, unless
  // tenants are ticked for a bulk action (a reload would untick them).
  var lastActive = null;
  document.addEventListener("htmx:sseMessage", function (event) {
    var message = event.detail;
    if (!message || message.type !== "active-list") { return; }
    var first = lastActive === null;
    var changed = message.data !== lastActive;
    lastActive = message.data;
    if (first || !changed) { return; }
    window.htmx.trigger(document.body, "pv-runs-changed");
    var table = document.querySelector("#pv-tenants");
    if (table && !document.querySelector('#pv-tenants input[name="tenant"]:checked')) {
      window.htmx.trigger(table, "pv-refresh");
    }
  });
  // The dashboard's "tick every tenant shown" box.
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-bulk-all]")) { return; }
    document.querySelectorAll('input[name="tenant"][form="pv-bulk"]').forEach(function (b) {
      b.checked = event.target.checked;
    });
  });
  // The header's menu button on narrow screens.
  document.addEventListener("click", function (event) {
    var b = event.target.closest("[data-nav-toggle]");
    if (!b) { return; }
    var nav = document.getElementById(b.getAttribute("aria-controls"));
    if (!nav) { return; }
    var open = nav.classList.toggle("pv-nav-open");
    b.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
