// Keeps the query testing dashboard (and a pending run's page) current while runs are queued
// or running: every ten seconds it asks the small live JSON whether anything changed (runs'
// progress, findings recorded) and, when it did, fetches the page again and swaps the #qg-live
// part in place. Once no run is pending it redraws one last time and stops.
(function () {
  "use strict";

  var POLL_MS = 10000;
  var root = document.getElementById("qg-live");
  if (!root || root.dataset.pending !== "true" || !window.fetch) {
    return;
  }
  var url = root.dataset.liveUrl;
  var stamp = root.dataset.stamp;

  function redraw() {
    return fetch(window.location.href, { headers: { Accept: "text/html" } })
      .then(function (r) {
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("qg-live");
        if (fresh) {
          root.innerHTML = fresh.innerHTML;
        }
      });
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data) {
          return null;
        }
        var changed = data.stamp !== stamp;
        stamp = data.stamp;
        var pending = data.pending > 0;
        var done = changed ? redraw() : Promise.resolve();
        return done.then(function () {
          return pending;
        });
      })
      .catch(function () {
        return true; // a failed poll (server restarting, say): try again later
      })
      .then(function (pending) {
        if (pending !== false) {
          window.setTimeout(poll, POLL_MS);
        }
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
