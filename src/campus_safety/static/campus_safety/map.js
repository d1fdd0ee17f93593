/* Leaflet maps: the city school map (/map/) and the small map on a school's page.
   The base (tiles or, with no tile URL, the county outlines with their names on a plain
   background) comes from map_context.js. Markers use the canvas renderer (2,000+ points). */
(function () {
  "use strict";
  var GAP_COLOURS = ["#16a34a", "#f59e0b", "#dc2626"];

  function gapColour(gap) { return GAP_COLOURS[Math.min(gap, 2)]; }

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function cityMap(container, config) {
    // The schools are this map's own points: no grey context dots under them.
    var base = window.campusSafetyMap.base(container, config, { schools: false });
    var map = base.map;
    var outlines = base.outlines;
    var renderer = L.canvas({ padding: 0.5 });
    var markers = L.layerGroup().addTo(map);
    var features = [];
    var form = document.getElementById("map-filters");
    var counter = document.getElementById("map-count");

    function popup(feature) {
      var p = feature.properties;
      var box = el("div");
      box.appendChild(el("div", p.name, "popup-title"));
      box.appendChild(el("div", config.kinds[p.kind] || p.kind, "muted"));
      box.appendChild(el("div", config.labels.students + ": " + p.students.toLocaleString()));
      var gap = el("div", config.labels.gap + ": ");
      gap.appendChild(el("span", String(p.gap), p.gap > 0 ? "gap" : "gap zero"));
      box.appendChild(gap);
      var link = el("a", config.labels.details + " →");
      link.href = config.detailUrlPrefix + feature.id + "/";
      box.appendChild(link);
      return box;
    }

    function wanted() {
      var data = new FormData(form);
      return { region: data.get("region") || "", kind: data.get("kind") || "",
               short: data.get("short") || "" };
    }

    function redraw(fit) {
      var f = wanted();
      markers.clearLayers();
      var shown = 0;
      var bounds = L.latLngBounds([]);
      features.forEach(function (feature) {
        var p = feature.properties;
        if (f.region && p.region !== f.region) { return; }
        if (f.kind && p.kind !== f.kind) { return; }
        if (f.short === "true" && !(p.gap > 0)) { return; }
        if (f.short === "false" && p.gap > 0) { return; }
        var latlng = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
        L.circleMarker(latlng, {
          renderer: renderer, radius: p.gap > 0 ? 6 : 4.5, weight: 1, color: "#ffffff",
          fillColor: gapColour(p.gap), fillOpacity: 0.9
        }).bindPopup(function () { return popup(feature); }).addTo(markers);
        bounds.extend(latlng);
        shown += 1;
      });
      container.dataset.markers = String(shown);
      if (counter) { counter.textContent = shown.toLocaleString(); }
      if (fit) {
        if (f.region && bounds.isValid()) {
          map.fitBounds(bounds.pad(0.15));
        } else if (outlines) {
          map.fitBounds(outlines.getBounds().pad(0.02));
        } else if (bounds.isValid()) {
          map.fitBounds(bounds.pad(0.1));
        }
      }
    }

    if (form) {
      form.addEventListener("change", function () {
        var query = new URLSearchParams();
        var f = wanted();
        Object.keys(f).forEach(function (k) { if (f[k]) { query.set(k, f[k]); } });
        var qs = query.toString();
        history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
        redraw(true);
      });
      form.addEventListener("submit", function (event) { event.preventDefault(); });
    }
    fetch(config.dataUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        features = data.features;
        redraw(true);
        container.dataset.loaded = "true";
      })
      .catch(function (error) {
        container.dataset.loaded = "error";
        if (counter) { counter.textContent = "—"; }
        console.warn("school map:", error);
      });
  }

  function schoolMap(container, place) {
    var districts = place.outline ? [{ code: "", name: place.district || "", outline: place.outline }] : [];
    var base = window.campusSafetyMap.base(container, { tiles: place.tiles, districts: districts }, {
      scrollWheelZoom: false, attributionControl: !!(place.tiles && place.tiles.url)
    });
    var latlng = [place.lat, place.lon];
    if (base.hasTiles || !base.outlines) { base.map.setView(latlng, 14); }
    L.circleMarker(latlng, { radius: 8, weight: 2, color: "#ffffff",
                             fillColor: gapColour(place.gap), fillOpacity: 0.95 })
      .bindTooltip(place.name, { direction: "top", offset: [0, -8], permanent: !base.hasTiles })
      .addTo(base.map);
    container.dataset.loaded = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.L || !window.campusSafetyMap) { return; }
    var city = document.getElementById("school-map");
    if (city) { cityMap(city, readJSON("map-config")); }
    var mini = document.getElementById("school-location-map");
    if (mini) { schoolMap(mini, readJSON("school-location")); }
  });
})();
