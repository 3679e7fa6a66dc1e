// Omnisync console: our own small script, no library.
// - [data-refresh="/url"][data-every="5"]: the element's contents are fetched again every
//   few seconds (paused while the tab is hidden); a lost session goes to the login page.
// - form[data-confirm="question"]: asks before posting.
// - [data-autosubmit]: a select or checkbox that posts its form when changed.
// - input[data-scan]: keeps the focus (a USB barcode scanner types into it and presses Enter).
(function () {
  "use strict";

  function refresh(element) {
    var url = element.getAttribute("data-refresh");
    if (!url || document.hidden) { return Promise.resolve(); }
    return fetch(url, { headers: { "X-Omnisync-Fragment": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search)); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          element.innerHTML = html;
          element.setAttribute("data-refreshed-at", new Date().toISOString());
        }
      })
      .catch(function () { element.setAttribute("data-refresh-failed", new Date().toISOString()); });
  }

  function startRefreshing() {
    document.querySelectorAll("[data-refresh]").forEach(function (element) {
      var seconds = parseFloat(element.getAttribute("data-every") || "5");
      window.setInterval(function () { refresh(element); }, Math.max(seconds, 1) * 1000);
    });
  }

  function confirmForms() {
    document.addEventListener("submit", function (event) {
      var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); }
    });
  }

  function autosubmit() {
    document.addEventListener("change", function (event) {
      if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit") && event.target.form) {
        event.target.form.requestSubmit();
      }
    });
  }

  function keepScanFocus() {
    var field = document.querySelector("input[data-scan]");
    if (!field) { return; }
    field.focus();
    document.addEventListener("click", function (event) {
      if (!event.target.closest("a, button, input, select, textarea, label")) { field.focus(); }
    });
  }

  window.omnisync = { refresh: refresh };
  document.addEventListener("DOMContentLoaded", function () {
    startRefreshing();
    confirmForms();
    autosubmit();
    keepScanFocus();
  });
}());
