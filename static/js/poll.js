// Polling that runs only while the tab is visible, and slows down while nothing changes.
//
// A polling element says how often with `data-poll="<seconds>"` and listens for the `poll` event instead of htmx's
// `every Ns` (which knows neither visibility nor backoff): `hx-get="..." hx-trigger="poll" data-poll="2"`. This file
// sends that event:
// - while the tab is hidden, never (and htmx:beforeRequest refuses a poll then, whoever sent it); when the tab shows
//   again, at once;
// - with `data-poll-backoff` (the live poller, webhooks/_live_poller.html), at its base interval for the first GRACE
//   answers of "nothing changed" (204), half a minute at 2s: a page just opened or just changed is the one being
//   watched and the likeliest to change again (a review right after a push). Then the interval doubles with each
//   further 204 up to MAX_SECONDS. Any other answer (a change), a key press, a click or a tap puts it back to the
//   base. An error or a timeout counts as "nothing changed", so a server that is down is not asked every 2s for long;
// - without it (a running sync, a merge Bitbucket runs as a task), at the base interval: those change on every poll.
// An answer that swaps a new polling element in (a live poller with its new token, a sync region still running)
// starts that element afresh; 286 (htmx's "stop polling") or a region rendered without `data-poll` ends it.
(function () {
  "use strict";

  var GRACE = 15; // answers of "nothing changed" at the base interval: half a minute at 2s
  var MAX_SECONDS = 60;
  var states = new Map(); // element -> {timer, due, unchanged, inFlight}

  function baseSeconds(el) {
    var seconds = parseFloat(el.getAttribute("data-poll"));
    return seconds > 0 ? seconds : 2;
  }

  function delaySeconds(el, state) {
    var base = baseSeconds(el);
    if (!el.hasAttribute("data-poll-backoff") || state.unchanged <= GRACE) return base;
    return Math.min(base * Math.pow(2, state.unchanged - GRACE), Math.max(MAX_SECONDS, base));
  }

  function schedule(el, seconds) {
    var state = states.get(el);
    if (!state) return;
    window.clearTimeout(state.timer);
    state.due = Date.now() + seconds * 1000;
    state.timer = window.setTimeout(function () {
      fire(el);
    }, seconds * 1000);
  }

  function forget(el) {
    var state = states.get(el);
    if (state) window.clearTimeout(state.timer);
    states.delete(el);
  }

  function fire(el) {
    var state = states.get(el);
    if (!state) return;
    state.timer = null;
    state.due = null;
    if (!el.isConnected) return forget(el);
    if (document.hidden || state.inFlight) return; // visibilitychange or the answer schedules the next one
    window.htmx.trigger(el, "poll");
  }

  function track(root) {
    if (!(root instanceof Element)) return;
    var found = Array.prototype.slice.call(root.querySelectorAll("[data-poll]"));
    if (root.hasAttribute("data-poll")) found.push(root);
    found.forEach(function (el) {
      if (states.has(el)) return;
      states.set(el, { timer: null, due: null, unchanged: 0, inFlight: false });
      schedule(el, baseSeconds(el));
    });
  }

  function pollElement(event) {
    var detail = event.detail || {};
    var elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt || event.target;
    return elt instanceof Element && elt.hasAttribute("data-poll") ? elt : null;
  }

  document.addEventListener("htmx:load", function (event) {
    track(event.target);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = pollElement(event);
    if (!el || !document.hidden) return;
    event.preventDefault(); // no request from a tab nobody looks at; it polls again when it shows
    var state = states.get(el);
    if (state) state.inFlight = false;
  });

  document.addEventListener("htmx:beforeSend", function (event) {
    var el = pollElement(event);
    var state = el && states.get(el);
    if (state) state.inFlight = true;
  });

  // Reaches the document once per request (from the element, or from its closest ancestor left when the answer
  // swapped it out), after the swap: an element swapped out is forgotten, and its successor was tracked on htmx:load.
  document.addEventListener("htmx:afterRequest", function (event) {
    var el = pollElement(event);
    var state = el && states.get(el);
    if (!state) return;
    state.inFlight = false;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (!el.isConnected || status === 286) return forget(el);
    if (status === 204 || !event.detail.successful) state.unchanged += 1;
    else state.unchanged = 0;
    schedule(el, delaySeconds(el, state));
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    states.forEach(function (state, el) {
      state.unchanged = 0;
      if (!state.inFlight) fire(el);
    });
  });

  // Someone is at the page: a poller that had slowed down comes back to its base interval.
  function active() {
    states.forEach(function (state, el) {
      state.unchanged = 0;
      var base = baseSeconds(el);
      if (!state.inFlight && state.due !== null && state.due - Date.now() > base * 1000) schedule(el, base);
    });
  }
  document.addEventListener("keydown", active, { capture: true, passive: true });
  document.addEventListener("pointerdown", active, { capture: true, passive: true });
  window.addEventListener("focus", active);
})();
