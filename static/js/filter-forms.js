// Filter forms marked data-omit-empty send only the filters that are set, so the pushed URL stays short
// (?state=open, not ?q=&state=open&author=) and matches the link a person would share.
document.addEventListener("htmx:configRequest", function (event) {
  if (!(event.target instanceof Element) || !event.target.closest("[data-omit-empty]")) return;
  var parameters = event.detail.parameters;
  for (var name of Object.keys(parameters)) {
    if (parameters[name] === "") delete parameters[name];
  }
});
