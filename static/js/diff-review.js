// Line comments from a pull request's diff: a line number is a button that opens the comment composer under its
// row; shift-click (or a drag from one line number to another) selects a range of lines of one file and side.
// The composer comes from the URL on the diff section's `data-composer-url`, with ?path=&side=&line= (and &start=
// for a range). Every row names its place: data-path, data-side, data-line (templates/diffs/_files.html).
(function () {
  "use strict";

  let anchor = null; // the last line clicked: {path, side, line}, the start of a shift-click range
  let dragFrom = null; // the line number button a drag started on

  function place(button) {
    const row = button.closest("tr");
    if (!row || !row.dataset.path) return null;
    return { row: row, path: row.dataset.path, side: button.dataset.side, line: Number(button.dataset.line) };
  }

  function clearSelection(scope) {
    scope.querySelectorAll("tr.selected, td.selected").forEach(function (el) {
      el.classList.remove("selected");
    });
  }

  function markRange(table, target, start) {
    const low = Math.min(start, target.line);
    const high = Math.max(start, target.line);
    table.querySelectorAll(".ln-btn").forEach(function (other) {
      const row = other.closest("tr");
      const line = Number(other.dataset.line);
      if (row.dataset.path === target.path && other.dataset.side === target.side && line >= low && line <= high) {
        row.classList.add("selected");
      }
    });
  }

  // The row after which the composer goes: under the line's own threads and annotations.
  function composerPlace(row) {
    let last = row;
    while (last.nextElementSibling && last.nextElementSibling.matches(".line-threads, .annotated")) {
      last = last.nextElementSibling;
    }
    return last;
  }

  function openComposer(target, start) {
    const section = target.row.closest("[data-composer-url]");
    if (!section) return;
    const table = target.row.closest("table");
    clearSelection(section);
    markRange(table, target, start === null ? target.line : start);

    const url = new URL(section.dataset.composerUrl, window.location.href);
    url.searchParams.set("path", target.path);
    url.searchParams.set("side", target.side);
    url.searchParams.set("line", String(Math.max(target.line, start === null ? target.line : start)));
    if (start !== null && start !== target.line) {
      url.searchParams.set("start", String(Math.min(start, target.line)));
    }
    const request = url.pathname + url.search;

    section.querySelectorAll("tr.composer-row").forEach(function (old) {
      if (!old.querySelector("textarea") || !old.querySelector("textarea").value) old.remove();
    });
    const columns = target.row.children.length;
    const composer = document.createElement("tr");
    composer.className = "composer-row";
    const cell = document.createElement("td");
    cell.colSpan = columns;
    const slot = document.createElement("div");
    slot.className = "composer-slot";
    slot.dataset.request = request;
    cell.appendChild(slot);
    composer.appendChild(cell);
    composerPlace(target.row).after(composer);
    section.dataset.composerRequest = request;
    if (window.htmx) {
      window.htmx.ajax("GET", request, { target: slot, swap: "innerHTML" });
    }
  }

  // A diffstat link to a file of a later batch is a link to the page that starts there; once that file has been
  // loaded on this page (by scrolling), go to it here instead, opened.
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("table.diffstat a[href*='#']");
    if (!link) return;
    const id = decodeURIComponent(link.hash.slice(1));
    const file = id && document.getElementById(id);
    if (!file) return;
    event.preventDefault();
    if (file.tagName === "DETAILS") file.open = true;
    file.scrollIntoView();
    history.replaceState(null, "", "#" + id);
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest(".ln-btn");
    if (!button || !button.closest("[data-composer-url]")) return;
    const target = place(button);
    if (!target) return;
    event.preventDefault();
    const sameRun = anchor && anchor.path === target.path && anchor.side === target.side;
    const start = event.shiftKey && sameRun ? anchor.line : null;
    if (start === null) anchor = { path: target.path, side: target.side, line: target.line };
    openComposer(target, start);
  });

  document.addEventListener("mousedown", function (event) {
    const button = event.target.closest && event.target.closest(".ln-btn");
    dragFrom = button && button.closest("[data-composer-url]") ? button : null;
  });

  document.addEventListener("mouseup", function (event) {
    const from = dragFrom;
    dragFrom = null;
    const button = event.target.closest && event.target.closest(".ln-btn");
    if (!from || !button || button === from) return; // a plain click: the click handler has it
    const start = place(from);
    const end = place(button);
    if (!start || !end || start.path !== end.path || start.side !== end.side) return;
    anchor = { path: start.path, side: start.side, line: start.line };
    openComposer(end, start.line);
  });
})();
