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
  // Tenant switcher: navigate on change, no submit button needed.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-navigate]") && event.target.value) {
      window.location.assign(event.target.value);
    }
  });
})();
