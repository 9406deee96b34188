// Comment boxes keep what is typed on the server, per user: every textarea with data-draft-key and data-draft-url
// is saved as it is typed (debounced), put back when an empty one appears (page load, or content htmx swaps in),
// and forgotten once its form was sent and the box came back empty (or the page was redirected): a failed send
// re-renders the box with the text, which stays saved.
(function () {
  "use strict";
  var DELAY = 700; // ms of quiet typing before a save
  var timers = new Map(); // textarea -> pending save timer

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function boxes(root) {
    var found = [];
    if (root instanceof Element && root.matches("textarea[data-draft-key][data-draft-url]")) found.push(root);
    if (root && root.querySelectorAll) {
      root.querySelectorAll("textarea[data-draft-key][data-draft-url]").forEach(function (t) { found.push(t); });
    }
    return found;
  }

  function status(box, text) {
    var note = box.nextElementSibling;
    if (!note || !note.classList.contains("draft-status")) {
      note = document.createElement("small");
      note.className = "draft-status muted";
      note.setAttribute("aria-live", "polite");
      box.insertAdjacentElement("afterend", note);
    }
    note.textContent = text;
  }

  function send(url, key, text, keepalive) {
    var body = new URLSearchParams({ key: key, text: text });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
    });
  }

  // Saves still on their way, by box key: a form waits for them before it is sent, so a save cannot reach the
  // server after the send that posted (and forgot) the text, and bring it back.
  var inFlight = new Map();

  function save(box, keepalive) {
    clearTimeout(timers.get(box));
    timers.delete(box);
    var text = box.value;
    var key = box.dataset.draftKey;
    var saving = send(box.dataset.draftUrl, key, text, keepalive).then(
      function (response) {
        if (response.ok) {
          status(box, text.trim() ? "Draft saved." : "");
        } else {
          return response.json().then(function (answer) {
            status(box, "Draft not saved: " + (answer.error || response.status));
          });
        }
      },
      function () {
        status(box, "Draft not saved: the dashboard cannot be reached; keep this page open.");
      }
    );
    // Settled either way (a refused save says so beside its box): what a waiting form needs to know.
    var settled = saving.then(null, function () {});
    inFlight.set(key, settled);
    settled.then(function () {
      if (inFlight.get(key) === settled) inFlight.delete(key);
    });
    return saving;
  }

  document.addEventListener("htmx:confirm", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var waiting = boxes(form).map(function (box) { return inFlight.get(box.dataset.draftKey); }).filter(Boolean);
    if (!waiting.length) return;
    event.preventDefault();
    // Then htmx sends it as it would have (its own hx-confirm question, if any, still asked).
    Promise.all(waiting).then(function () { event.detail.issueRequest(); });
  });

  function restore(box) {
    if (box.dataset.draftReady) return;
    box.dataset.draftReady = "1";
    if (carryOver(box)) return;
    if (box.value.trim()) return; // the page brought text of its own (a failed send kept it)
    var url = box.dataset.draftUrl + "?" + new URLSearchParams({ key: box.dataset.draftKey });
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || !answer.text || box.value.trim()) return; // typing began meanwhile: it wins
        box.value = answer.text;
        var details = box.closest("details");
        if (details) details.open = true;
        status(box, "Restored your unsent text.");
      })
      .catch(function () {});
  }

  function setUp(root) {
    boxes(root).forEach(restore);
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.dataset.draftKey || !box.dataset.draftUrl) return;
    clearTimeout(timers.get(box));
    timers.set(box, setTimeout(function () {
      timers.delete(box);
      // A box swapped out meanwhile: its form was sent, or its text was carried over to the new box and saved.
      if (box.isConnected) save(box);
    }, DELAY));
  });

  // The form is on its way: a save still waiting must not bring the text back after the comment is posted.
  var sending = new WeakMap(); // form -> [[url, key], ...]
  function beforeSend(form) {
    var keys = boxes(form).map(function (box) {
      clearTimeout(timers.get(box));
      timers.delete(box);
      return [box.dataset.draftUrl, box.dataset.draftKey];
    });
    if (keys.length) sending.set(form, keys);
  }
  document.addEventListener("submit", function (event) { beforeSend(event.target); }, true);
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target instanceof HTMLFormElement) beforeSend(event.target);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    var keys = sending.get(form);
    if (!keys) return;
    sending.delete(form);
    if (!event.detail.successful) return; // an error status: nothing was posted, the saved text stays
    if (event.detail.xhr.getResponseHeader("HX-Redirect")) {
      // Sent, and the page is leaving: keepalive lets the request outlive it.
      keys.forEach(function (pair) { send(pair[0], pair[1], "", true); });
      return;
    }
    // After the swap: a box that came back with the text means the send failed and the text was kept.
    setTimeout(function () {
      keys.forEach(function (pair) {
        var again = document.querySelector("textarea[data-draft-key=\"" + CSS.escape(pair[1]) + "\"]");
        if (!again || !again.value.trim()) send(pair[0], pair[1], "");
      });
    }, 0);
  });

  // A region re-read in place (a GET, e.g. the review panel after a new pending comment) keeps what is being typed
  // in it: the server has the last save, which may be a few keystrokes behind. The new box takes the text when it
  // appears (htmx:load, below), if it appears within a few seconds.
  var carried = {}; // key -> {text, at}
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.requestConfig.verb !== "get") return;
    boxes(event.detail.target).forEach(function (box) {
      // Its save still waiting is the new box's now: this one is about to leave the page.
      clearTimeout(timers.get(box));
      timers.delete(box);
      if (box.value.trim()) carried[box.dataset.draftKey] = { text: box.value, at: Date.now() };
    });
  });
  function carryOver(box) {
    var kept = carried[box.dataset.draftKey];
    delete carried[box.dataset.draftKey];
    if (!kept || Date.now() - kept.at > 5000 || box.value === kept.text) return false;
    box.value = kept.text;
    save(box);
    return true;
  }

  // Leaving with a save still waiting: send it now (keepalive outlives the page).
  // Only boxes still on the page: one swapped out had its text carried over (or its form sent) already.
  window.addEventListener("pagehide", function () {
    timers.forEach(function (_, box) {
      if (box.isConnected) save(box, true);
    });
  });

  document.addEventListener("htmx:load", function (event) { setUp(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  } else {
    setUp(document);
  }
})();
