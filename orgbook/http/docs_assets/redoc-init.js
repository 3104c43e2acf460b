// Starts ReDoc on /redoc (a file, not an inline script: the page runs under a strict CSP).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.getAttribute("data-openapi-url"), { hideDownloadButton: false }, root);
});
