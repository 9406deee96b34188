// Mentions in comment boxes. In a textarea[data-mentions-url], "@" followed by letters asks that URL for the
// workspace members whose name matches (after a short pause in typing) and lists them under the box. Arrow keys move,
// Enter or Tab (or a click) choose, Escape closes. The choice is written as Bitbucket's mention syntax,
// `@{account_id} `, which Bitbucket turns into a link to the person and a notification for them.
(function () {
  "use strict";

  // "@" at the start or after a space or punctuation, then a letter, then name characters up to the caret.
  var TRIGGER = /(?:^|[^\p{L}\p{N}_@{}])@(\p{L}[\p{L}\p{N}._'-]{0,39})$/u;
  var ACCOUNT_ID = /^(?:[0-9]{1,12}:[0-9a-fA-F-]{36}|[0-9a-fA-F]{24})$/;
  var DELAY_MS = 200;
  var boxes = 0;

  // The one open suggestion list (only the focused box has one).
  var open = null; // {area, list, options, active}
  var pending = null; // {area, query, timer, controller}

  function isMentionBox(node) {
    return node instanceof HTMLTextAreaElement && node.hasAttribute("data-mentions-url");
  }

  // The "@name" being typed before the caret: where its "@" is and the name so far; null when there is none.
  function typed(area) {
    if (area.selectionStart !== area.selectionEnd) return null;
    var before = area.value.slice(0, area.selectionStart);
    var match = TRIGGER.exec(before);
    if (!match) return null;
    return { start: before.length - match[1].length - 1, query: match[1] };
  }

  function listId(area) {
    if (!area.id) area.id = "mention-box-" + ++boxes;
    return area.id + "-mentions";
  }

  function prepare(area) {
    if (area.hasAttribute("aria-autocomplete")) return;
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-haspopup", "listbox");
    area.setAttribute("aria-expanded", "false");
  }

  function close() {
    if (pending) {
      clearTimeout(pending.timer);
      if (pending.controller) pending.controller.abort();
      pending = null;
    }
    if (!open) return;
    open.list.remove();
    open.area.setAttribute("aria-expanded", "false");
    open.area.removeAttribute("aria-activedescendant");
    open.area.removeAttribute("aria-controls");
    open = null;
  }

  function highlight(index) {
    var count = open.options.length;
    open.active = (index + count) % count;
    open.options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === open.active ? "true" : "false");
    });
    var chosen = open.options[open.active];
    open.area.setAttribute("aria-activedescendant", chosen.id);
    chosen.scrollIntoView({ block: "nearest" });
  }

  function show(area, html) {
    var template = document.createElement("template");
    template.innerHTML = html; // our own server's escaped fragment; templates run no scripts
    var list = template.content.querySelector('[role="listbox"]');
    var options = list ? Array.prototype.slice.call(list.querySelectorAll('[role="option"]')) : [];
    options = options.filter(function (option) { return ACCOUNT_ID.test(option.dataset.accountId || ""); });
    if (open) {
      open.list.remove();
      open = null;
    }
    if (!options.length) {
      area.setAttribute("aria-expanded", "false");
      area.removeAttribute("aria-activedescendant");
      return;
    }
    list.id = listId(area);
    options.forEach(function (option, i) { option.id = list.id + "-" + i; });
    area.insertAdjacentElement("afterend", list);
    area.setAttribute("aria-controls", list.id);
    area.setAttribute("aria-expanded", "true");
    open = { area: area, list: list, options: options, active: 0 };
    highlight(0);
  }

  function ask(area, query) {
    var url = new URL(area.getAttribute("data-mentions-url"), window.location.href);
    url.searchParams.set("q", query);
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    pending.controller = controller;
    var mine = pending;
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (pending !== mine) return; // a newer query, or closed meanwhile
        pending = null;
        var now = typed(area);
        if (document.activeElement !== area || !now || now.query !== query) return;
        show(area, html);
      })
      .catch(function () { if (pending === mine) pending = null; });
  }

  function choose(option) {
    var area = open.area;
    var at = typed(area);
    var accountId = option.dataset.accountId || "";
    close();
    if (!at || !ACCOUNT_ID.test(accountId)) return;
    area.focus();
    area.setRangeText("@{" + accountId + "} ", at.start, area.selectionStart, "end");
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!isMentionBox(area)) return;
    prepare(area);
    var at = typed(area);
    if (!at) {
      close();
      return;
    }
    if (pending && pending.area === area && pending.query === at.query) return;
    if (pending) {
      clearTimeout(pending.timer);
      if (pending.controller) pending.controller.abort();
    }
    pending = { area: area, query: at.query, timer: 0, controller: null };
    pending.timer = setTimeout(ask, DELAY_MS, area, at.query);
  });

  document.addEventListener("keydown", function (event) {
    if (!open || event.target !== open.area || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(open.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      event.preventDefault();
      choose(open.options[open.active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (/^(ArrowLeft|ArrowRight|Home|End|PageUp|PageDown)$/.test(event.key)) {
      close(); // the caret leaves the name being typed
    }
  });

  // mousedown, not click: the box keeps its focus and caret.
  document.addEventListener("mousedown", function (event) {
    if (!open) return;
    var option = event.target instanceof Element ? event.target.closest('[role="option"]') : null;
    if (option && open.list.contains(option)) {
      event.preventDefault();
      choose(option);
    } else if (event.target !== open.area) {
      close();
    }
  });

  document.addEventListener("focusout", function (event) {
    if ((open && event.target === open.area) || (pending && event.target === pending.area)) close();
  });

  document.addEventListener("focusin", function (event) {
    if (isMentionBox(event.target)) prepare(event.target);
  });
})();
