// Tab in the file editor (textarea.editor) indents instead of leaving the field; Esc, then Tab, moves focus on, so
// keyboard users are never trapped.
document.addEventListener("keydown", function (event) {
  var area = event.target;
  if (!(area instanceof HTMLTextAreaElement) || !area.classList.contains("editor")) return;
  if (event.key === "Escape") { area.dataset.tabOut = "1"; return; }
  if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  if (area.dataset.tabOut === "1") { delete area.dataset.tabOut; return; }
  event.preventDefault();
  area.setRangeText("\t", area.selectionStart, area.selectionEnd, "end");
});
