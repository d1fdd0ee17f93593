/* The trouble-spot map (/hazards/map/): spots around schools coloured by where they
   stand (overdue, open, rectified) and the schools they sit by, over the districts and
   every school of the user (map_context.js). Data comes from the page's config
   (json_script) and the GeoJSON endpoint; no inline script (CSP). */
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function popup(feature, config) {
    var p = feature.properties;
    var labels = config.labels || {};
    var box = el("div");
    if (p.layer === "school") {
      box.appendChild(el("div", p.name, "popup-title"));
      box.appendChild(el("div", labels.school, "muted"));
      return box;
    }
    box.appendChild(el("div", p.reference + " " + p.title, "popup-title"));
    box.appendChild(el("div", ((config.kinds || {})[p.kind] || p.kind) + " · " +
                              (labels[p.state] || p.state), "muted"));
    box.appendChild(el("div", p.school));
    if (p.distance !== null && p.distance !== undefined) {
      box.appendChild(el("div", labels.distance + ": " + p.distance + " " + labels.metres));
    }
    var link = el("a", (labels.details || "Details") + " →");
    link.href = config.detailUrlPrefix + feature.id + "/";
    box.appendChild(link);
    return box;
  }

  function spotMap(container, config) {
    var base = window.campusSafetyMap.base(container, config);
    var map = base.map;
    var counter = document.getElementById("hazard-map-count");
    var renderer = L.canvas({ padding: 0.5 });
    var colours = config.colours || {};
    fetch(config.dataUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var spots = 0;
        var bounds = [];
        data.features.forEach(function (feature) {
          var p = feature.properties;
          var latlng = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
          var isSchool = p.layer === "school";
          spots += isSchool ? 0 : 1;
          bounds.push(latlng);
          L.circleMarker(latlng, {
            renderer: renderer, radius: isSchool ? 4 : 6, weight: 1, color: "#ffffff",
            fillColor: colours[isSchool ? "school" : p.state] || "#94a3b8",
            fillOpacity: isSchool ? 0.6 : 0.95
          }).bindPopup(function () { return popup(feature, config); }).addTo(map);
        });
        if (!base.outlines && bounds.length) { map.fitBounds(L.latLngBounds(bounds).pad(0.1)); }
        container.dataset.loaded = "true";
        container.dataset.markers = String(spots);
        if (counter) { counter.textContent = spots.toLocaleString(); }
      })
      .catch(function (error) {
        container.dataset.loaded = "error";
        if (counter) { counter.textContent = "—"; }
        console.warn("trouble-spot map:", error);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("hazard-map");
    if (container && window.L && window.campusSafetyMap) {
      spotMap(container, readJSON("hazard-map-config"));
    }
  });
})();
