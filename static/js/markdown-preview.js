// Write / Preview tabs over every Markdown box: a textarea[data-markdown-preview] (its value: the preview URL,
// /-/markdown/<ws>/preview) is wrapped, on page load and in content htmx brings (the diff's line comment composer),
// in a tab list and two panels. Preview posts the text and shows the HTML the server renders with the pages' own
// sanitising renderer; Write shows the box again, with its text and caret where they were. Without this script the
// box is a plain textarea.
// Keys (the WAI-ARIA tabs pattern): Left/Right/Home/End move between the tabs and select them; Enter or a click on
// Write puts the focus back in the box.
(function () {
  "use strict";

  var boxes = 0;
  // Per editor, what the page's markup does not hold: the text the preview shows, the request on its way, and the
  // box's caret when Preview was chosen. Everything else is read from the markup, which htmx may have restored
  // from its history cache.
  var memory = new WeakMap();

  function csrfToken(area) {
    var field = area.form && area.form.querySelector("input[name=csrfmiddlewaretoken]");
    if (field && field.value) return field.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function message(panel, text, className) {
    panel.replaceChildren(element("p", { class: className || "muted" }, text));
  }

  function parts(editor) {
    var write = editor.querySelector(":scope > .md-write");
    return {
      area: write && write.querySelector("textarea[data-markdown-preview]"),
      tabs: Array.prototype.slice.call(editor.querySelectorAll(":scope > .md-tabs > .md-tab")),
      write: write,
      preview: editor.querySelector(":scope > .md-preview"),
    };
  }

  function remembered(editor) {
    var kept = memory.get(editor);
    if (!kept) {
      kept = { shown: null, controller: null, caret: null };
      memory.set(editor, kept);
    }
    return kept;
  }

  function setUp(area) {
    if (!area.dataset.markdownPreview || area.closest(".md-editor")) return;
    if (!area.id) area.id = "markdown-box-" + ++boxes;
    var id = area.id;
    var focused = document.activeElement === area;
    var start = area.selectionStart;
    var end = area.selectionEnd;

    var editor = element("div", { class: "md-editor" });
    // Named without the box's own name: a label search for the box ("Comment", "Reply") must find the box alone.
    var list = element("div", { class: "md-tabs", role: "tablist", "aria-label": "Write or preview" });
    var writeTab = element("button", {
      type: "button", class: "md-tab", role: "tab", id: id + "-write-tab", "aria-controls": id + "-write",
      "aria-selected": "true", "data-md-tab": "write",
    }, "Write");
    var previewTab = element("button", {
      type: "button", class: "md-tab", role: "tab", id: id + "-preview-tab", "aria-controls": id + "-preview",
      "aria-selected": "false", tabindex: "-1", "data-md-tab": "preview",
    }, "Preview");
    list.append(writeTab, previewTab);
    var writePanel = element("div", {
      class: "md-write", role: "tabpanel", id: id + "-write", "aria-labelledby": writeTab.id,
    });
    var previewPanel = element("div", {
      class: "md-preview", role: "tabpanel", id: id + "-preview", "aria-labelledby": previewTab.id,
      tabindex: "0", "aria-live": "polite",
    });
    previewPanel.hidden = true;

    area.before(editor);
    writePanel.append(area);
    editor.append(list, writePanel, previewPanel);
    if (focused) {
      // Moving the box took the focus away from it: give it back where the caret was.
      area.focus();
      area.setSelectionRange(start, end);
    }
  }

  function setUpAll(root) {
    if (root instanceof HTMLTextAreaElement) setUp(root);
    if (root && root.querySelectorAll) root.querySelectorAll("textarea[data-markdown-preview]").forEach(setUp);
  }

  function render(editor, area, panel) {
    var kept = remembered(editor);
    var text = area.value;
    if (!text.trim()) {
      if (kept.controller) kept.controller.abort();
      kept.controller = null;
      kept.shown = text;
      panel.removeAttribute("aria-busy");
      message(panel, "Nothing to preview.");
      return;
    }
    if (text === kept.shown) return;
    if (kept.controller) kept.controller.abort();
    var controller = new AbortController();
    kept.controller = controller;
    kept.shown = null;
    panel.setAttribute("aria-busy", "true");
    message(panel, "Rendering the preview…");
    function settle() {
      kept.controller = null;
      panel.removeAttribute("aria-busy");
    }
    fetch(area.dataset.markdownPreview, {
      method: "POST",
      body: new URLSearchParams({ text: text }),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(area), Accept: "text/html" },
      signal: controller.signal,
    })
      .then(function (response) {
        if (response.redirected) return { error: "Your session has ended: sign in again to see a preview." };
        // 400: the text is too long to preview, and the answer says so.
        if (response.ok || response.status === 400) {
          return response.text().then(function (html) { return { html: html, ok: response.ok }; });
        }
        return { error: "No preview: the dashboard answered " + response.status + "." };
      })
      .then(function (answer) {
        if (kept.controller !== controller) return; // Write was chosen, or a newer preview asked for, meanwhile
        settle();
        if (answer.error) {
          message(panel, answer.error, "banner error");
          return;
        }
        var template = document.createElement("template");
        template.innerHTML = answer.html; // our own server's fragment, sanitised there; templates run no scripts
        panel.replaceChildren(template.content);
        if (answer.ok) kept.shown = text;
      })
      .catch(function (error) {
        if (kept.controller !== controller) return;
        settle();
        if (error && error.name === "AbortError") return;
        message(panel, "No preview: the dashboard cannot be reached.", "banner error");
      });
  }

  // Show the Write or the Preview panel. The box stays in the page's layout under the preview (only covered), so
  // the editor keeps its height and the box its text, caret and scroll position.
  function select(editor, which, focusBox) {
    var p = parts(editor);
    if (!p.area || !p.write || !p.preview) return;
    var kept = remembered(editor);
    var preview = which === "preview";
    var wasPreview = !p.preview.hidden;
    p.tabs.forEach(function (tab) {
      var on = tab.dataset.mdTab === which;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
    });
    if (preview) {
      if (!wasPreview) kept.caret = [p.area.selectionStart, p.area.selectionEnd];
      p.write.classList.add("md-covered");
      p.preview.hidden = false;
      render(editor, p.area, p.preview);
      return;
    }
    if (kept.controller) {
      kept.controller.abort();
      kept.controller = null;
      p.preview.removeAttribute("aria-busy");
    }
    p.preview.hidden = true;
    p.write.classList.remove("md-covered");
    if (focusBox) {
      p.area.focus({ preventScroll: true });
      if (kept.caret) p.area.setSelectionRange(kept.caret[0], kept.caret[1]);
    }
  }

  document.addEventListener("click", function (event) {
    var tab = event.target instanceof Element ? event.target.closest(".md-tab[data-md-tab]") : null;
    if (!tab) return;
    var editor = tab.closest(".md-editor");
    if (!editor) return;
    event.preventDefault();
    select(editor, tab.dataset.mdTab, tab.dataset.mdTab === "write");
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target instanceof Element ? event.target.closest(".md-tab[data-md-tab]") : null;
    if (!tab || event.altKey || event.ctrlKey || event.metaKey) return;
    var editor = tab.closest(".md-editor");
    if (!editor) return;
    var tabs = parts(editor).tabs;
    var index = tabs.indexOf(tab);
    var next;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    else return;
    event.preventDefault();
    tabs[next].focus();
    select(editor, tabs[next].dataset.mdTab, false);
  });

  document.addEventListener("htmx:load", function (event) { setUpAll(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  } else {
    setUpAll(document);
  }
})();
