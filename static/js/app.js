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
      var target = event.detail.target;
      // An outerHTML swap has replaced the target: look in the element that took its place.
      if (!target.isConnected) target = (target.id && document.getElementById(target.id)) || document.body;
      var invalid = target.querySelector('[aria-invalid="true"], .flash-error');
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
  // A refused action comes back on the page it was sent from: put the message beside the form that
  // was sent, give that form back what was typed, and take the person there.
  function pathOf(url) {
    try { return new URL(url, window.location.href).pathname; } catch (e) { return ""; }
  }
  function restore(form, values) {
    Object.keys(values).forEach(function (name) {
      var wanted = values[name];
      Array.prototype.forEach.call(form.querySelectorAll("[name]"), function (input) {
        if (input.name !== name || input.type === "file" || input.type === "hidden") return;
        if (input.type === "checkbox" || input.type === "radio") {
          input.checked = wanted.indexOf(input.value) !== -1;
        } else if (input.tagName === "SELECT" && input.multiple) {
          Array.prototype.forEach.call(input.options, function (o) { o.selected = wanted.indexOf(o.value) !== -1; });
        } else {
          input.value = wanted[0];
        }
      });
    });
  }
  function placeRefusal() {
    var message = document.getElementById("refusal");
    if (!message || message.dataset.placed) return;
    var action = message.dataset.action;
    var form = Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
      var target = f.getAttribute("hx-post") || f.getAttribute("action");
      return target && pathOf(target) === action;
    });
    message.dataset.placed = "1";
    if (!form) { message.focus(); return; }
    var values = {};
    try { values = JSON.parse(document.getElementById("refusal-values").textContent || "{}"); } catch (e) { values = {}; }
    restore(form, values);
    for (var open = form.closest("details"); open; open = open.parentElement.closest("details")) open.open = true;
    form.prepend(message);
    var field = message.dataset.field && form.querySelector('[name="' + message.dataset.field + '"]');
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", "refusal");
    }
    message.scrollIntoView({block: "center"});
    (field || message).focus({preventScroll: true});
  }
  document.addEventListener("DOMContentLoaded", placeRefusal);
  document.addEventListener("htmx:afterSettle", placeRefusal);
  // The menu's stages: one open at a time; a click elsewhere or Escape closes it.
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.classList || !opened.classList.contains("menu-stage") || !opened.open) return;
    document.querySelectorAll("details.menu-stage[open]").forEach(function (other) {
      if (other !== opened) other.open = false;
    });
  }, true);
  document.addEventListener("click", function (event) {
    if (event.target.closest("details.menu-stage")) return;
    document.querySelectorAll("details.menu-stage[open]").forEach(function (d) { d.open = false; });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details.menu-stage[open]");
    if (open) { open.open = false; open.querySelector("summary").focus(); }
  });
  // A form whose step cannot be undone (data-confirm) first says what it will do and waits for a
  // deliberate yes. Runs before htmx sees the submit; the confirmed form is sent again as usual.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.confirm || form.dataset.confirmed === "1") return;
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); event.stopImmediatePropagation(); }
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    var submitter = event.submitter || null;
    document.getElementById("confirm-text").textContent = form.dataset.confirm;
    document.getElementById("confirm-yes").textContent = form.dataset.confirmAction || "OK";
    dialog.returnValue = "";
    document.getElementById("confirm-yes").onclick = function () { dialog.close("yes"); };
    document.getElementById("confirm-no").onclick = function () { dialog.close("no"); };
    dialog.onclose = function () {
      if (dialog.returnValue !== "yes") return;
      form.dataset.confirmed = "1";
      if (form.requestSubmit) form.requestSubmit(submitter); else form.submit();
      form.dataset.confirmed = "";
    };
    dialog.showModal();
  }, true);
  // A table wider than its box scrolls inside it: keyboard users must be able to reach the scroll.
  function focusableScrolls() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      if (box.hasAttribute("tabindex") || box.scrollWidth <= box.clientWidth + 1) return;
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      var caption = box.querySelector("caption");
      var section = box.closest("section");
      var heading = caption || (section && section.querySelector("h2, h3")) || document.querySelector("h1");
      if (heading) box.setAttribute("aria-label", heading.textContent.trim());
    });
  }
  document.addEventListener("DOMContentLoaded", focusableScrolls);
  document.addEventListener("htmx:afterSettle", focusableScrolls);
  window.addEventListener("resize", focusableScrolls);
  // On small screens the menu starts folded.
  document.addEventListener("DOMContentLoaded", function () {
    var menu = document.querySelector(".nav-menu");
    if (menu && window.matchMedia("(max-width: 720px)").matches) menu.removeAttribute("open");
  });
})();

// Deadlines: <time datetime="…" data-countdown> gains "(2 d 3 h left)" in the page's language.
(function () {
  "use strict";
  var strings = {};
  function t(key, values) {
    var text = strings[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("%(" + k + ")s", values[k]); });
    return text;
  }
  function left(ms) {
    if (ms <= 0) return t("passed");
    var m = Math.floor(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    var parts = [d ? t("days", {n: d}) : "", h ? t("hours", {n: h}) : "", !d ? t("minutes", {n: mm}) : ""];
    return t("left", {time: parts.filter(Boolean).join(" ")});
  }
  function tick() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var span = el.nextElementSibling && el.nextElementSibling.classList.contains("countdown")
        ? el.nextElementSibling : null;
      if (!span) {
        span = document.createElement("span");
        span.className = "countdown";
        el.after(span);
      }
      span.textContent = " (" + left(at - Date.now()) + ")";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("i18n-strings");
    try { strings = JSON.parse(node ? node.textContent : "{}"); } catch (e) { strings = {}; }
    tick();
    setInterval(tick, 30000);
  });
  document.addEventListener("htmx:afterSettle", tick);
  // Criteria and milestone rows, picked participants: remove without a round trip.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-row]");
    if (button) button.closest("tr").remove();
    var chip = event.target.closest("[data-remove-chip]");
    if (chip) chip.closest(".chip").remove();
  });
  // A participant picked twice stays once.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "chosen") return;
    var seen = {};
    event.detail.target.querySelectorAll(".chip input[name=participants]").forEach(function (input) {
      if (seen[input.value]) input.closest(".chip").remove();
      seen[input.value] = true;
    });
  });
})();
