// Feedback while htmx works: the region a request will replace is marked busy, and a filter's result is announced.
//
// Busy: from `htmx:beforeSend` (after every handler that may cancel the request in `htmx:beforeRequest`, such as
// static/js/poll.js for a hidden tab) to `htmx:afterRequest` (which htmx fires after the swap, and on an error, a
// timeout or an abort too), the target htmx resolved gets `aria-busy="true"`. A request someone asked for (a filter, a
// page link, a button) also gets the `is-loading` class, which bbdash.css turns into a dimmed region with a sweeping
// bar. A background request — one sent by a hidden element (the live poller, the live refreshers) or by a polling
// region (`data-poll`, see poll.js) — sets only `aria-busy`: a bar flashing every two seconds over a page nobody
// touched would be noise, and the region's new content speaks for itself. An outerHTML swap puts in a new element
// that never had the marks; the old one is cleared anyway. Requests are counted per region, so two overlapping
// requests (a filter typed while a live refresh runs) leave it busy until both end.
//
// Announced: a region that carries `data-announce` (the server writes the result's size there, e.g. "12 pull
// requests" or "No pull requests match") has that text read out by a polite live region after a request someone
// asked for swapped it in. Background refreshes stay silent. No second request: the text comes with the fragment.
(function () {
  "use strict";

  var pending = new WeakMap();

  function isBackground(elt) {
    return !!elt && (elt.hidden || elt.hasAttribute("data-poll"));
  }

  function requestParts(event) {
    var detail = event.detail || {};
    var elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt || event.target;
    return { elt: elt, target: detail.target };
  }

  document.addEventListener("htmx:beforeSend", function (event) {
    var parts = requestParts(event);
    var target = parts.target;
    if (!(target instanceof Element)) return;
    var background = isBackground(parts.elt);
    var state = pending.get(target) || { count: 0, shown: 0 };
    state.count += 1;
    if (!background) state.shown += 1;
    pending.set(target, state);
    target.setAttribute("aria-busy", "true");
    if (state.shown) target.classList.add("is-loading");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var parts = requestParts(event);
    var target = parts.target;
    if (!(target instanceof Element)) return;
    // Reaches the document once per request: from the requesting element, or, when the swap took that element out of
    // the page (its afterRequest then bubbles nowhere), from its closest ancestor still in it.
    var state = pending.get(target);
    if (state) {
      state.count = Math.max(0, state.count - 1);
      if (!isBackground(parts.elt)) state.shown = Math.max(0, state.shown - 1);
    }
    if (!state || state.count === 0) {
      target.removeAttribute("aria-busy");
      target.classList.remove("is-loading");
      pending.delete(target);
    } else if (!state.shown) {
      target.classList.remove("is-loading");
    }
    if (!isBackground(parts.elt)) announcer.swapped(target.id, event.detail);
  });

  // The polite live region, created empty once the page is parsed so screen readers know it before it speaks.
  var announcer = {
    node: null,
    ensure: function () {
      if (this.node && this.node.isConnected) return this.node;
      var node = document.getElementById("announcer");
      if (!node) {
        node = document.createElement("div");
        node.id = "announcer";
        node.className = "visually-hidden";
        node.setAttribute("role", "status");
        node.setAttribute("aria-live", "polite");
        node.setAttribute("aria-atomic", "true");
        document.body.appendChild(node);
      }
      this.node = node;
      return node;
    },
    swapped: function (id, detail) {
      if (!id || !detail || !detail.successful || !detail.xhr || detail.xhr.status === 204) return;
      var region = document.getElementById(id);
      var text = region && region.getAttribute("data-announce");
      if (text) this.say(text);
    },
    say: function (text) {
      var node = this.ensure();
      // Emptied first, then filled a moment later: the same words twice ("No pull requests match") are read twice.
      node.textContent = "";
      window.setTimeout(function () {
        node.textContent = text;
      }, 100);
    },
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      announcer.ensure();
    });
  } else {
    announcer.ensure();
  }
})();
