// Reviewer pickers ([data-reviewer-picker], templates/pull_requests/_reviewers.html). The box's <datalist> is filled
// by htmx from /-/suggest/people/ as the user types; picking a name from it (or typing a listed name and pressing
// Enter) adds the person as a chip: a hidden `reviewers` input holding their uuid and a "Remove reviewer" button.
// Without this file the chips are ticked checkboxes and the names typed in the box are posted and looked up.
(function () {
  "use strict";

  function enhance(root) {
    if (!(root instanceof Element || root instanceof Document)) return;
    var pickers = Array.prototype.slice.call(root.querySelectorAll("[data-reviewer-picker]"));
    if (root instanceof Element && root.matches("[data-reviewer-picker]")) pickers.push(root);
    pickers.forEach(function (picker) {
      if (picker.hasAttribute("data-picker-ready")) return;
      picker.setAttribute("data-picker-ready", "");
      picker.querySelectorAll("input.chip-check").forEach(function (box) {
        box.type = "hidden"; // still posted; the button removes it now, and clicking the name does nothing
      });
      picker.querySelectorAll("[data-remove-chip]").forEach(function (button) {
        button.hidden = false;
      });
    });
  }

  function pickerOf(node) {
    return node instanceof Element ? node.closest("[data-reviewer-picker]") : null;
  }

  function isBox(node) {
    return node instanceof HTMLInputElement && node.hasAttribute("data-reviewer-box") && pickerOf(node) !== null;
  }

  // The option of the box's list that its text names: the same value, else the same value or label ignoring case.
  function chosenOption(box) {
    var list = box.list;
    var text = box.value.trim();
    if (!list || !text) return null;
    var options = Array.prototype.filter.call(list.options, function (option) {
      return option.dataset.uuid;
    });
    var exact = options.filter(function (option) { return option.value === text; });
    if (exact.length === 1) return exact[0];
    var folded = text.toLocaleLowerCase();
    var loose = options.filter(function (option) {
      return (
        option.value.toLocaleLowerCase() === folded ||
        (option.dataset.label || "").toLocaleLowerCase() === folded
      );
    });
    return loose.length === 1 ? loose[0] : null;
  }

  function say(picker, message) {
    var status = picker.querySelector("[data-picker-status]");
    if (status) status.textContent = message;
  }

  function refreshEmptyNote(picker) {
    var note = picker.querySelector("[data-no-reviewers]");
    if (note) note.hidden = picker.querySelector("[data-reviewer-chip]") !== null;
  }

  function addChip(picker, box, option) {
    var uuid = option.dataset.uuid;
    var name = option.dataset.label || option.value;
    var chips = picker.querySelector("[data-reviewer-chips]");
    box.value = "";
    var already = Array.prototype.some.call(chips.querySelectorAll('input[name="reviewers"]'), function (input) {
      return input.value === uuid;
    });
    if (already) {
      say(picker, name + " is already a reviewer.");
      return;
    }
    var chip = document.createElement("li");
    chip.className = "chip";
    chip.setAttribute("data-reviewer-chip", "");
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "reviewers";
    input.value = uuid;
    var label = document.createElement("span");
    label.textContent = name;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("data-remove-chip", "");
    remove.setAttribute("aria-label", "Remove reviewer " + name);
    remove.title = "Remove reviewer " + name;
    remove.textContent = "×";
    chip.append(input, label, " ", remove);
    chips.append(chip);
    refreshEmptyNote(picker);
    say(picker, "Added reviewer " + name + ".");
  }

  function removeChip(button) {
    var picker = pickerOf(button);
    var chip = button.closest("[data-reviewer-chip]");
    if (!picker || !chip) return;
    var name = (button.getAttribute("aria-label") || "").replace(/^Remove reviewer /, "");
    // Focus moves to the next chip's button, else the previous one's, else the box: never lost to the page.
    var next = chip.nextElementSibling || chip.previousElementSibling;
    chip.remove();
    var target = next ? next.querySelector("[data-remove-chip]") : picker.querySelector("[data-reviewer-box]");
    if (target) target.focus();
    refreshEmptyNote(picker);
    say(picker, "Removed reviewer " + name + ".");
  }

  function tryPick(box) {
    var option = chosenOption(box);
    if (!option) return false;
    addChip(pickerOf(box), box, option);
    return true;
  }

  document.addEventListener("input", function (event) {
    if (!isBox(event.target)) return;
    // A pick from the datalist replaces the text at once (no InputEvent in Chromium, "insertReplacementText" in
    // Firefox); typing a name that happens to be listed waits for Enter, so "bob" does not stop "bobby".
    var typed = typeof InputEvent === "function" && event instanceof InputEvent && event.inputType !== "insertReplacementText";
    if (!typed) tryPick(event.target);
  });

  document.addEventListener("change", function (event) {
    if (isBox(event.target)) tryPick(event.target);
  });

  document.addEventListener("keydown", function (event) {
    if (!isBox(event.target) || event.key !== "Enter" || event.altKey || event.ctrlKey || event.metaKey) return;
    var box = event.target;
    if (!box.value.trim()) return; // an empty box: Enter submits the form as usual
    event.preventDefault();
    if (!tryPick(box)) say(pickerOf(box), "Pick a name from the list.");
  });

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-remove-chip]") : null;
    if (button && pickerOf(button)) removeChip(button);
  });

  document.addEventListener("htmx:load", function (event) {
    enhance(event.target);
  });
  enhance(document);
})();
