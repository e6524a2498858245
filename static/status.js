// Progressive enhancement of the status page: while a request is being prepared, its progress is
// refreshed in place every few seconds. Without JavaScript the page offers a plain refresh link.
(function () {
  "use strict";
  var marker = document.querySelector("[data-refresh]");
  if (!marker || !window.fetch || !window.DOMParser) return;
  var url = marker.getAttribute("data-refresh");
  var every = 2000;
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { setTimeout(tick, every * 5); return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var current = document.querySelector("main");
        if (!fresh || !current) return;
        if (fresh.innerHTML !== current.innerHTML) current.replaceWith(document.adoptNode(fresh));
        if (fresh.querySelector("[data-refresh]")) setTimeout(tick, every);
      })
      .catch(function () { setTimeout(tick, every * 5); });
  }
  setTimeout(tick, every);
})();
