// svcproc front-end glue: CSRF on every htmx request, focus after swaps, countdowns.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });
  // A form swapped in with errors: move focus to the first invalid field so keyboard and
  // screen-reader users land on what needs fixing.
  document.addEventListener("htmx:afterSwap", function (event) {
    var status = event.detail.xhr && event.detail.xhr.status;
    if (status === 422 || status === 409) {
      var invalid = event.detail.target.querySelector('[aria-invalid="true"], .flash-error');
      if (invalid) {
        if (!invalid.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA/.test(invalid.tagName)) {
          invalid.setAttribute("tabindex", "-1");
        }
        invalid.focus();
      }
    }
  });
  // Responses htmx will not swap (403, 500, ...): show their message instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("flashes");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    var doc = new DOMParser().parseFromString(event.detail.xhr.responseText || "", "text/html");
    var message = doc.querySelector(".flash-error");
    p.textContent = message ? message.textContent : (event.detail.xhr.status + " " + event.detail.xhr.statusText);
    box.replaceChildren(p);
  });
  // On small screens the menu starts folded.
  document.addEventListener("DOMContentLoaded", function () {
    var menu = document.querySelector(".nav-menu");
    if (menu && window.matchMedia("(max-width: 720px)").matches) menu.removeAttribute("open");
  });
})();
