// Fairdeal's few lines of browser code: the browser's time zone sent once (times are
// formatted on the server, in the reader's language and zone), the language switcher, live
// countdowns that follow the server's (possibly sandbox) clock, previews of chosen files, and
// focus on the first refused field. The pages work without it.
(function () {
  "use strict";
  var body = document.body;
  var units = JSON.parse(body.getAttribute("data-units") || '{"d":"d","h":"h","m":"min","s":"s"}');

  // No zone chosen yet: tell the server the browser's, once; the next page shows it.
  if (body.hasAttribute("data-tz-auto") && window.Intl && navigator.cookieEnabled) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("fairdeal_tz=") < 0) {
      document.cookie = "fairdeal_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  }
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  function describe(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d) { return d + " " + units.d + " " + h + " " + units.h + " " + m + " " + units.m; }
    if (h) { return h + " " + units.h + " " + m + " " + units.m + " " + sec + " " + units.s; }
    return m + " " + units.m + " " + sec + " " + units.s;
  }

  var timers = [];
  function countdowns(root) {
    root.querySelectorAll("[data-countdown]:not([data-done])").forEach(function (el) {
      el.setAttribute("data-done", "");
      var due = Date.parse(el.getAttribute("data-countdown"));
      // The page was rendered at the server's "now": keep the same offset from this browser's
      // clock, so a sandbox clock moved days ahead still counts down correctly.
      var offset = Date.parse(el.getAttribute("data-now")) - Date.now();
      var left = body.getAttribute("data-left") || "%s left";
      var over = body.getAttribute("data-due") || "due now";
      timers.push(function () {
        var ms = due - (Date.now() + offset);
        el.textContent = ms > 0 ? left.replace("%s", describe(ms)) : over;
      });
    });
  }
  setInterval(function () { timers.forEach(function (tick) { tick(); }); }, 1000);

  function previews(root) {
    root.querySelectorAll("input[type=file][data-preview]:not([data-done])").forEach(function (input) {
      input.setAttribute("data-done", "");
      input.addEventListener("change", function () {
        var list = document.getElementById(input.getAttribute("data-preview"));
        list.querySelectorAll("li.chosen").forEach(function (li) { li.remove(); });
        Array.prototype.forEach.call(input.files, function (file) {
          var li = document.createElement("li");
          li.className = "chosen";
          var url = URL.createObjectURL(file);
          var media = null;
          if (file.type.indexOf("image/") === 0) {
            media = document.createElement("img");
            media.alt = file.name;
          } else if (file.type.indexOf("video/") === 0) {
            media = document.createElement("video");
            media.muted = true;
            media.setAttribute("aria-label", file.name);
          }
          if (media) { media.src = url; li.appendChild(media); }
          var name = document.createElement("span");
          name.textContent = file.name;
          li.appendChild(name);
          list.appendChild(li);
        });
      });
    });
  }

  function focusError(root) {
    var bad = root.querySelector("[aria-invalid=true], .form-error[role=alert]");
    if (!bad) { return; }
    var details = bad.closest("details");
    if (details) { details.open = true; }
    if (!bad.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA)$/.test(bad.tagName)) {
      bad.setAttribute("tabindex", "-1");
    }
    bad.focus();
  }

  function init(root) {
    countdowns(root);
    previews(root);
  }

  init(document);
  focusError(document);
  // htmx announces every piece of content it swapped in.
  document.body.addEventListener("htmx:load", function (event) {
    init(event.detail.elt);
    if (event.detail.elt !== document.body) { focusError(event.detail.elt); }
  });
})();
