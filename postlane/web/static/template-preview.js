// The template editor's live preview (postlane/web/pages_templates.py). As the user types,
// the form is posted, with its CSRF token, to the dashboard's preview endpoint, and the JSON
// answer is shown: the rendered HTML in the sandboxed srcdoc frame (no scripts run there),
// the subject, the text and every validation error. Server data is only ever set as text
// (textContent) or as the frame's srcdoc, never as this page's HTML.
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  if (!form) { return; }
  var url = form.getAttribute("data-preview");
  var state = document.getElementById("preview-state");
  var errors = document.getElementById("preview-errors");
  var subject = document.getElementById("preview-subject");
  var frame = document.getElementById("preview-html");
  var text = document.getElementById("preview-text");
  var model = document.getElementById("preview-model");
  var timer = null;
  var latest = 0;

  function setState(label, kind) {
    state.textContent = label;
    state.className = "badge " + kind;
  }

  function where(error) {
    return error.Line ? " (line " + error.Line + ", position " + error.CharacterPosition + ")" : "";
  }

  function show(answer) {
    setState(answer.Valid ? "Valid" : "Invalid", answer.Valid ? "ok" : "bad");
    errors.replaceChildren();
    answer.Errors.forEach(function (error) {
      var item = document.createElement("li");
      item.textContent = error.Part + where(error) + ": " + error.Message;
      errors.appendChild(item);
    });
    if (subject) { subject.textContent = answer.Subject || ""; }
    frame.srcdoc = answer.HtmlBody || "";
    text.textContent = answer.TextBody || "";
    model.textContent = JSON.stringify(answer.SuggestedTemplateModel, null, 2);
    form.setAttribute("data-previewed", String(Number(form.getAttribute("data-previewed") || 0) + 1));
  }

  function refresh() {
    var mine = ++latest;
    fetch(url, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var json = (response.headers.get("content-type") || "").indexOf("application/json") === 0;
      if (!response.ok || !json) { throw new Error("the preview failed (HTTP " + response.status + ")"); }
      return response.json();
    }).then(function (answer) {
      if (mine === latest) { show(answer); }
    }).catch(function (error) {
      if (mine === latest) { setState("Preview unavailable: " + error.message, "bad"); }
    });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
})();
