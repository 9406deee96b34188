// A diff file marked "Viewed" folds away, on the click and whenever a diff arrives (the page's own or a fragment
// htmx swaps in); the "N of M files viewed" count follows the checkboxes.
(function () {
  var MARK = ".viewed-mark input[type=checkbox][name=viewed]";

  function fold(root) {
    root.querySelectorAll(MARK).forEach(function (box) {
      var file = box.closest("details");
      if (box.checked && file) file.open = false;
    });
  }

  function recount() {
    var count = document.getElementById("viewed-count");
    if (!count) return;
    var total = count.getAttribute("data-total");
    var viewed = document.querySelectorAll("#pr-diff " + MARK + ":checked").length;
    count.textContent = viewed + " of " + total + " file" + (total === "1" ? "" : "s") + " viewed";
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.matches(MARK)) return;
    var file = box.closest("details");
    if (box.checked && file) file.open = false;
    recount();
  });
  document.addEventListener("htmx:load", function (event) {
    if (event.target instanceof Element) fold(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    fold(document);
  });
})();
