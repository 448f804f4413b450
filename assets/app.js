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
})();
