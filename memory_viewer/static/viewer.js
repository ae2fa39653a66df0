// The viewer's only script, loaded from this origin (the Content-Security-Policy allows no
// inline script). Pages work without it; it adds live search results and confirmations.
"use strict";

(function () {
  // Ask before a destructive form is sent (delete, undo).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Live search: as the user types or changes a filter, fetch the results fragment (rendered
  // and escaped by the server) and swap it in; the address follows, so a reload keeps it.
  var form = document.getElementById("search");
  if (!form) {
    return;
  }
  var endpoint = form.getAttribute("data-results");
  var timer = null;
  var latest = 0;

  function refresh() {
    var query = new URLSearchParams(new FormData(form)).toString();
    var ticket = ++latest;
    fetch(endpoint + "?" + query, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null || ticket !== latest) {
          return; // a newer query was sent meanwhile, or the answer was an error
        }
        var results = document.getElementById("results");
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#results");
        if (results && fresh) {
          results.replaceWith(fresh);
        }
        history.replaceState(null, "", form.getAttribute("action") + "?" + query);
        document.body.setAttribute("data-searched", query);
      });
  }

  function soon() {
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(refresh, 200);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
})();
