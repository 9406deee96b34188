// The header's colour theme toggle (templates/base.html): a POST form that works without JavaScript. Here it is sent
// in the background instead, and the new theme applies at once (<html data-theme>) without reloading the page.
// Should the request fail, the form is sent the ordinary way.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("theme-form")) return;
  event.preventDefault();
  var button = form.querySelector(".theme-toggle");
  fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  })
    .then(function (response) {
      if (!response.ok) throw new Error("theme not saved: " + response.status);
      return response.json();
    })
    .then(function (answer) {
      document.documentElement.setAttribute("data-theme", answer.theme);
      form.elements.namedItem("theme").value = answer.next;
      button.textContent = "Theme: " + answer.theme;
      button.setAttribute("aria-label", "Colour theme: " + answer.theme + " (switch to " + answer.next + ")");
      button.title = "Colour theme: " + answer.theme + ". Switch to " + answer.next + ".";
    })
    .catch(function () {
      form.elements.namedItem("next").value = location.pathname + location.search;
      form.submit();
    });
});
