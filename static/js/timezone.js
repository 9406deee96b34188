// The viewer's time zone and current relative times.
// 1. Stores the browser's IANA time zone in the `tz` cookie; the server (dashboard/timezones.py) validates it and
//    shows absolute times (tooltips, "until 14:05 CET") in that zone from the next page on.
// 2. Every minute, rewrites the text of each <time datetime data-relative> from its datetime with the wording of
//    Django's timesince ("5 minutes", "2 hours, 3 minutes", "3 days"; "just now" under a minute), so a page left
//    open does not go stale.
//    No network request.
(function () {
  "use strict";

  function storeZone() {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return;
    }
    if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) return;
    var current = document.cookie.split("; ").find(function (part) { return part.indexOf("tz=") === 0; });
    if (current === "tz=" + zone) return;
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" + secure;
  }

  var NBSP = "\u00a0";
  var MINUTE = 60, HOUR = 3600, DAY = 86400, WEEK = 7 * DAY, MONTH = 30 * DAY, YEAR = 365 * DAY;
  var UNITS = [[YEAR, "year"], [MONTH, "month"], [WEEK, "week"], [DAY, "day"], [HOUR, "hour"], [MINUTE, "minute"]];

  function count(n, name) {
    return n + NBSP + name + (n === 1 ? "" : "s");
  }

  // Django's timesince: the largest non-zero unit and, when not zero, the one right after it.
  // (Under a minute, which it calls "0 minutes", the caller says "just now".)
  function since(seconds) {
    var parts = [];
    var rest = seconds;
    var started = false;
    for (var i = 0; i < UNITS.length && parts.length < 2; i++) {
      var n = Math.floor(rest / UNITS[i][0]);
      rest -= n * UNITS[i][0];
      if (n > 0) {
        parts.push(count(n, UNITS[i][1]));
        started = true;
      } else if (started) {
        break;
      }
    }
    return parts.join(", ");
  }

  function refresh() {
    var now = Date.now();
    document.querySelectorAll("time[datetime][data-relative]").forEach(function (element) {
      var at = Date.parse(element.getAttribute("datetime"));
      if (isNaN(at)) return;
      var seconds = Math.max(0, Math.floor((now - at) / 1000));
      var ago = element.getAttribute("data-relative") === "ago";
      var text = seconds < MINUTE ? (ago ? "just now" : "less than a minute") : since(seconds) + (ago ? " ago" : "");
      if (element.textContent !== text) element.textContent = text;
    });
  }

  storeZone();
  window.setInterval(refresh, 60 * 1000);
})();
