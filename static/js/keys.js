// Keyboard shortcuts, listed in the sheet `?` opens (the <dialog id="shortcuts"> in base.html):
//   /      focus the page's filter or search field ([data-search-field], else the first field of a search form)
//   g i    my inbox; g s  sync status
//   j / k  next / previous row of the page's main table, or file of a diff (its summary focused)
//   o, Enter  open the current row's first link
//   ?      this sheet (Escape or its button closes it, and focus goes back where it was)
// None fires while typing in a field, nor with Ctrl, Meta or Alt held.
(function () {
  "use strict";

  var pendingG = false;
  var pendingTimer = null;
  var returnFocus = null;

  function typingIn(element) {
    if (!(element instanceof Element)) return false;
    return element.isContentEditable || element.closest("input, textarea, select") !== null;
  }

  function visible(element) {
    return element.getClientRects().length > 0;
  }

  function searchField() {
    var marked = Array.from(document.querySelectorAll("[data-search-field]")).filter(visible);
    if (marked.length) return marked[0];
    var fields = document.querySelectorAll(
      "form[role=search] input:not([type=hidden]):not([type=submit]):not([type=button]), form[role=search] select"
    );
    return Array.from(fields).filter(visible)[0] || null;
  }

  function diffFiles() {
    return Array.from(document.querySelectorAll("details.diff-file")).filter(visible);
  }

  function tableRows() {
    var table = Array.from(document.querySelectorAll("table.data")).filter(visible)[0];
    return table ? Array.from(table.querySelectorAll(":scope > tbody > tr")).filter(visible) : [];
  }

  function currentIndex(items) {
    return items.findIndex(function (item) {
      return item.getAttribute("aria-current") === "true";
    });
  }

  function markCurrent(items, index) {
    items.forEach(function (item) {
      if (item.getAttribute("aria-current") === "true") item.removeAttribute("aria-current");
    });
    var item = items[index];
    item.setAttribute("aria-current", "true");
    return item;
  }

  function move(step) {
    var files = diffFiles();
    var items = files.length ? files : tableRows();
    if (!items.length) return false;
    var index = currentIndex(items);
    index = index < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(Math.max(index + step, 0), items.length - 1);
    var item = markCurrent(items, index);
    if (files.length) {
      var summary = item.querySelector(":scope > summary");
      item.scrollIntoView({ block: "start" });
      if (summary) summary.focus({ preventScroll: true });
    } else {
      if (!item.hasAttribute("tabindex")) item.setAttribute("tabindex", "-1");
      item.focus({ preventScroll: true });
      item.scrollIntoView({ block: "nearest" });
    }
    return true;
  }

  function openCurrent() {
    var rows = tableRows();
    var row = rows[currentIndex(rows)];
    var link = row && row.querySelector("a[href]");
    if (!link) return false;
    link.click();
    return true;
  }

  function sheet() {
    return document.getElementById("shortcuts");
  }

  function openSheet() {
    var dialog = sheet();
    if (!dialog || dialog.open) return false;
    returnFocus = document.activeElement;
    dialog.showModal();
    return true;
  }

  function go(path) {
    window.location.assign(path);
    return true;
  }

  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("#shortcuts [data-close]")) sheet().close();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var dialog = sheet();
    if (!dialog) return;
    dialog.addEventListener("close", function () {
      if (returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
      returnFocus = null;
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typingIn(event.target)) return;
    var dialog = sheet();
    if (dialog && dialog.open) return;

    var key = event.key;
    var handled = false;
    if (pendingG) {
      pendingG = false;
      clearTimeout(pendingTimer);
      if (key === "i") handled = go("/-/inbox/");
      else if (key === "s") handled = go("/-/sync/");
    } else if (key === "g") {
      pendingG = true;
      pendingTimer = setTimeout(function () {
        pendingG = false;
      }, 1500);
      handled = true;
    } else if (key === "/") {
      var field = searchField();
      if (field) {
        field.focus();
        handled = true;
      }
    } else if (key === "j") {
      handled = move(1);
    } else if (key === "k") {
      handled = move(-1);
    } else if (key === "o") {
      handled = openCurrent();
    } else if (key === "Enter") {
      // Enter keeps its own meaning on a link, a button or a file's summary; on the current row it opens its link.
      var active = document.activeElement;
      if (active === document.body || (active instanceof Element && active.matches("table.data tr[aria-current=true]"))) {
        handled = openCurrent();
      }
    } else if (key === "?") {
      handled = openSheet();
    }
    if (handled) event.preventDefault();
  });
})();
