/* 护学岗 posts on a map with live staffing: circles coloured by the window's state,
   refreshed from /patrols/posts/live.json while the page is open, over the districts and
   schools (map_context.js). No inline script: the configuration comes from a
   json_script block. */
(function () {
  "use strict";
  var COLOURS = { staffed: "#16a34a", understaffed: "#f59e0b", empty: "#dc2626", idle: "#94a3b8" };

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function colour(post) {
    return post.phase === "live" ? (COLOURS[post.state] || COLOURS.idle) : COLOURS.idle;
  }

  function byPost(posts) {
    /* One marker per post: the live window wins, else the next, else the last. */
    var rank = { live: 0, upcoming: 1, closed: 2 };
    var chosen = {};
    posts.forEach(function (p) {
      var seen = chosen[p.post];
      if (!seen || rank[p.phase] < rank[seen.phase]) { chosen[p.post] = p; }
    });
    return Object.keys(chosen).map(function (k) { return chosen[k]; });
  }

  function start() {
    var container = document.getElementById("posts-map");
    var config = readJSON("posts-map-config");
    if (!container || !config || typeof L === "undefined" || !window.campusSafetyMap) { return; }
    var map = window.campusSafetyMap.base(container, config).map;
    var layer = L.layerGroup().addTo(map);
    var fitted = false;

    function draw(posts) {
      layer.clearLayers();
      var points = [];
      byPost(posts).forEach(function (p) {
        var marker = L.circleMarker([p.lat, p.lon], {
          // posts outside their window are small, so the live ones and the map show through
          radius: p.phase === "live" ? 7 : 4, color: "#1f2937", weight: p.phase === "live" ? 1 : 0.5,
          fillColor: colour(p), fillOpacity: 0.9
        });
        marker.bindPopup(
          "<strong></strong><br><span></span>"
        );
        marker.on("popupopen", function (e) {
          var node = e.popup.getElement();
          node.querySelector("strong").textContent = p.school + " · " + p.name;
          node.querySelector("span").textContent = p.opens + "–" + p.closes + " · " +
            p.present + "/" + p.required;
        });
        marker.addTo(layer);
        points.push([p.lat, p.lon]);
      });
      if (!fitted) {
        if (points.length === 1) { map.setView(points[0], 16); }
        else if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.1)); }
        fitted = true;
      }
      container.dataset.markers = String(points.length);
      container.dataset.loaded = "true";
    }

    function updateTable(posts) {
      var counts = { staffed: 0, understaffed: 0, empty: 0 };
      posts.forEach(function (p) {
        if (p.phase === "live" && counts[p.state] !== undefined) { counts[p.state] += 1; }
        var row = document.querySelector('tr[data-window="' + p.id + '"]');
        if (row) {
          var cell = row.querySelector("[data-present]");
          if (cell) { cell.textContent = String(p.present); }
          row.dataset.state = p.state;
        }
      });
      Object.keys(counts).forEach(function (k) {
        var el = document.getElementById("live-" + k);
        if (el) { el.textContent = String(counts[k]); }
      });
      var total = document.getElementById("live-total");
      if (total) { total.textContent = String(counts.staffed + counts.understaffed + counts.empty); }
    }

    draw(config.posts);
    window.setInterval(function () {
      if (document.hidden) { return; }
      fetch(config.live_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { draw(data.posts); updateTable(data.posts); } })
        .catch(function () { /* next tick tries again */ });
    }, (config.refresh_s || 20) * 1000);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
