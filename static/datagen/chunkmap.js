// Keeps a datagen run's page current while the run generates: polls the run's progress JSON
// every two seconds, recolours the chunk map's cells and rewrites the counts, rate and time
// left in place (no reload, so a long map keeps its scroll position); stops once finished.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var NAMES = { t: "target", a: "assigned", c: "completed", l: "limbo" };
  var root = document.getElementById("datagen-run");
  if (!root || root.dataset.finished === "true") {
    return;
  }
  var url = root.dataset.progressUrl;
  var cells = new Map();
  root.querySelectorAll(".chunkmap .cell").forEach(function (cell) {
    cells.set(cell.dataset.chunk, cell);
  });

  function setText(selector, text) {
    root.querySelectorAll(selector).forEach(function (el) {
      if (el.textContent !== text) {
        el.textContent = text;
      }
    });
  }

  function recolour(ids, states) {
    // Before the run's setup the JSON has no chunks yet: the cells stay targets.
    for (var i = 0; i < ids.length; i++) {
      var cell = cells.get(String(ids[i]));
      var name = NAMES[states.charAt(i)];
      if (cell && name && !cell.classList.contains("s-" + name)) {
        cell.className = "cell s-" + name;
        cell.title = "chunk " + ids[i] + ": " + name;
      }
    }
  }

  function redrawBar(counts, total) {
    var bar = root.querySelector(".chunkbar");
    if (!bar) {
      return;
    }
    var order = ["completed", "limbo", "assigned", "target"];
    var label = [];
    bar.replaceChildren();
    order.forEach(function (name) {
      var n = counts[name] || 0;
      if (!n) {
        return;
      }
      var seg = document.createElement("span");
      seg.className = "seg s-" + name;
      seg.dataset.seg = name;
      seg.style.width = ((100 * n) / (total || 1)).toFixed(3) + "%";
      seg.title = name + ": " + n;
      bar.appendChild(seg);
      label.push(n + " " + name);
    });
    bar.setAttribute("aria-label", label.join(", "));
  }

  function apply(data) {
    var phase = root.querySelector('[data-field="phase"]');
    if (phase && phase.textContent !== data.phase) {
      phase.textContent = data.phase;
      phase.className = "phase phase-" + data.phase.replace(/\s+/g, "-");
    }
    Object.keys(data.display).forEach(function (key) {
      setText('[data-field="' + key + '"]', data.display[key]);
    });
    Object.keys(data.counts).forEach(function (name) {
      setText('[data-count="' + name + '"]', data.counts[name].toLocaleString("en-US"));
    });
    redrawBar(data.counts, data.total);
    recolour(data.chunk_ids, data.states);
  }

  function poll() {
    if (document.hidden) {
      // Nobody is looking: ask again later instead of loading the server for nothing.
      window.setTimeout(poll, POLL_MS);
      return;
    }
    fetch(url, {
      cache: "no-store",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress: HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        apply(data);
        if (data.finished) {
          root.dataset.finished = "true";
          root.querySelectorAll("[data-when-finished]").forEach(function (el) {
            el.hidden = false;
          });
          return;
        }
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        // A restarting server or a dropped connection: keep trying at the same pace.
        window.setTimeout(poll, POLL_MS);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
