// Omnisync console, the scan-to-pack screen (/pack/{order}): our own small script.
// A USB barcode scanner types a code and presses Enter into the focused #scan field.
// Each Enter takes the code, empties the field at once (so the next scan can be typed
// while this one is posted) and queues it; the queue posts one scan at a time with the
// session's CSRF token and swaps #pack-state with the parcel the hub answers (the last
// scan's result, accepted or refused, and each line's units). Without this script the
// form posts and the page comes back: the screen works either way.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function showProblem(state, code, reason) {
    var box = state.querySelector("#scan-result");
    if (!box) {
      box = document.createElement("div");
      box.id = "scan-result";
      state.insertBefore(box, state.firstChild);
    }
    box.className = "scan-refused";
    box.setAttribute("role", "alert");
    box.textContent = "Not counted: " + code + " — " + reason + ". Scan it again.";
  }

  function start() {
    var form = document.getElementById("scan-form");
    var field = document.getElementById("scan");
    var state = document.getElementById("pack-state");
    if (!form || !field || !state || !window.fetch || !window.URLSearchParams) { return; }
    var queue = [];
    var busy = false;

    function settle() {
      busy = false;
      state.removeAttribute("aria-busy");
      var active = document.activeElement;
      if (!active || active === document.body || active === field) { field.focus(); }
      next();
    }

    function next() {
      if (busy || queue.length === 0) { return; }
      busy = true;
      var code = queue.shift();
      var body = new URLSearchParams(new FormData(form));
      body.set("code", code);
      state.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Omnisync-Fragment": "1", "X-CSRF-Token": csrfToken() }
      })
        .then(function (response) {
          if (response.status === 401) {
            window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
            return null;
          }
          if (!response.ok) {
            throw new Error("the hub refused the scan (" + response.status + "): reload the page");
          }
          return response.text();
        })
        .then(function (html) {
          if (html !== null) {
            state.innerHTML = html;
            state.setAttribute("data-scans", String(parseInt(state.getAttribute("data-scans") || "0", 10) + 1));
          }
        })
        .catch(function (error) {
          showProblem(state, code, error && error.message ? error.message : "the hub could not be reached");
        })
        .then(settle, settle);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var code = field.value.trim();
      field.value = "";
      field.focus();
      if (code) {
        queue.push(code);
        next();
      }
    });
    field.focus();
  }

  document.addEventListener("DOMContentLoaded", start);
}());
