// The sections of a pull request page read live from Bitbucket (discussion, commits, diff) follow the mirror too,
// each re-read by its own URL, without a poll of their own: the page's one poller refreshes #pr-summary when the
// mirror changes (templates/webhooks/_live_poller.html), and the summary says what the sections should now show
// (data-live-discussion, data-live-commits, data-live-diff). A loaded section names what it shows
// (data-live-follows="<name>", data-live-version, data-live-url): when the summary's version differs, it is re-read.
// The discussion follows the pull request's updates; the commits and the diff its source commit, so a review
// elsewhere does not reload a diff.
//
// Nothing the user is doing is lost: a section with a field that has the focus or unsent text (a reply, an edit, a
// task, a line comment) waits, says so, and refreshes once the text is sent or cleared and the focus has left it.
// The diff keeps each file opened or folded as the reader left it (unless its Viewed mark changed), and the page
// keeps the reader's place.
(function () {
  "use strict";

  var FIELDS = "textarea, input:not([type]), input[type=text], input[type=search]";
  var pending = new Set(); // sections waiting for the user to finish

  function summary() {
    return document.getElementById("pr-summary");
  }

  function wanted(section) {
    var current = summary();
    var name = section.getAttribute("data-live-follows");
    if (!current || !name) return false;
    var version = current.getAttribute("data-live-" + name);
    return version !== null && version !== section.getAttribute("data-live-version");
  }

  function unsent(field) {
    return field.value.trim() !== field.defaultValue.trim();
  }

  function busy(section) {
    var active = document.activeElement;
    if (active && active !== document.body && section.contains(active) && active.matches(FIELDS)) return true;
    return Array.prototype.some.call(section.querySelectorAll(FIELDS), unsent);
  }

  function note(section, text) {
    var shown = section.querySelector(":scope > .live-note");
    if (!text) {
      if (shown) shown.remove();
      return;
    }
    if (!shown) {
      shown = document.createElement("p");
      shown.className = "live-note small muted";
      shown.setAttribute("role", "status");
      var heading = section.querySelector(":scope > h2");
      if (heading) heading.insertAdjacentElement("afterend", shown);
      else section.prepend(shown);
    }
    shown.textContent = text;
  }

  // Where the reader is: the element with an id at the top of the viewport, and how far from the top it is.
  function place() {
    if (window.scrollY === 0) return null;
    var main = document.getElementById("main");
    var box = main ? main.getBoundingClientRect() : { left: 0, width: window.innerWidth };
    var hit = document.elementFromPoint(box.left + box.width / 2, 4);
    var anchor = hit && hit.closest("[id]");
    if (!anchor || anchor === main || anchor === document.body) return null;
    return { id: anchor.id, top: anchor.getBoundingClientRect().top };
  }

  function restorePlace(kept, fallback) {
    if (!kept) return;
    var anchor = document.getElementById(kept.id) || (fallback && document.getElementById(fallback));
    if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - kept.top);
  }

  // Each diff file's open state and Viewed mark, by the file's id.
  function files(section) {
    var found = {};
    section.querySelectorAll("details.diff-file[id]").forEach(function (file) {
      var mark = file.querySelector(".viewed-mark input[name=viewed]");
      found[file.id] = { open: file.open, viewed: !!(mark && mark.checked) };
    });
    return found;
  }

  function restoreFiles(before) {
    Object.keys(before).forEach(function (id) {
      var file = document.getElementById(id);
      if (!file || !file.matches("details.diff-file")) return;
      var mark = file.querySelector(".viewed-mark input[name=viewed]");
      if (!!(mark && mark.checked) === before[id].viewed) file.open = before[id].open;
    });
  }

  function refresh(section) {
    if (!section.isConnected || !wanted(section) || section.hasAttribute("data-live-loading")) {
      if (pending.delete(section)) note(section, "");
      return;
    }
    if (busy(section)) {
      pending.add(section);
      note(section, "Changed on Bitbucket: this part refreshes once you send or clear what you are writing here.");
      return;
    }
    pending.delete(section);
    section.setAttribute("data-live-loading", "");
    var id = section.id;
    var kept = place();
    var folds = files(section);
    htmx
      .ajax("GET", section.getAttribute("data-live-url"), { target: "#" + id, swap: "outerHTML" })
      .then(function () {
        restoreFiles(folds);
        restorePlace(kept, id);
      })
      .finally(function () {
        var still = document.getElementById(id);
        if (still) still.removeAttribute("data-live-loading");
      });
  }

  function refreshAll() {
    document.querySelectorAll("[data-live-follows][data-live-url]").forEach(refresh);
  }

  // A new summary came (the live refresh, or the page itself): the sections compare themselves with it.
  document.addEventListener("htmx:load", function (event) {
    var loaded = event.target;
    if (loaded instanceof Element && loaded.id === "pr-summary") refreshAll();
    // A part of a waiting section was swapped (a reply sent, an edit saved): it may be free now.
    pending.forEach(function (section) {
      if (loaded instanceof Element && section.contains(loaded)) retryLater(section);
    });
  });

  function retryLater(section) {
    // After the event that freed it has finished moving focus (a click on a button elsewhere, a swap).
    setTimeout(function () {
      if (pending.has(section)) refresh(section);
    }, 0);
  }

  document.addEventListener("focusout", function (event) {
    pending.forEach(function (section) {
      if (section.contains(event.target) && !section.contains(event.relatedTarget)) retryLater(section);
    });
  });
  document.addEventListener("input", function (event) {
    pending.forEach(function (section) {
      if (section.contains(event.target) && !busy(section)) retryLater(section);
    });
  });
})();
