/* Leaflet maps: the city school map (/map/) and the small map on a school's page.
   With no tile URL configured nothing is fetched from outside: the county outlines
   are drawn on a plain background. Markers use the canvas renderer (2,000+ points). */
(function () {
  "use strict";
  var GAP_COLOURS = ["#16a34a", "#f59e0b", "#dc2626"];

  function gapColour(gap) { return GAP_COLOURS[Math.min(gap, 2)]; }

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function addTiles(map, tiles) {
    if (tiles && tiles.url) {
      L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 18 }).addTo(map);
      return true;
    }
    return false;
  }

  function outlineLayer(districts, withLabels) {
    var features = districts.filter(function (d) { return d.outline; }).map(function (d) {
      return { type: "Feature", geometry: d.outline, properties: { code: d.code, name: d.name } };
    });
    if (!features.length) { return null; }
    return L.geoJSON({ type: "FeatureCollection", features: features }, {
      interactive: false,
      style: { color: "#64748b", weight: 1.2, fillColor: "#ffffff", fillOpacity: 0.75 },
      onEachFeature: function (feature, layer) {
        if (withLabels) {
          layer.bindTooltip(feature.properties.name, { permanent: true, direction: "center",
                                                       className: "district-label" });
        }
      }
    });
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function cityMap(container, config) {
    var map = L.map(container, { preferCanvas: true, zoomSnap: 0.5 });
    var renderer = L.canvas({ padding: 0.5 });
    var hasTiles = addTiles(map, config.tiles);
    var outlines = outlineLayer(config.districts, true);
    // A view first: Leaflet cannot draw a layer on a map that has none yet.
    if (outlines) {
      map.fitBounds(outlines.getBounds().pad(0.02));
      outlines.addTo(map);
    } else {
      map.setView([35.0, 110.0], hasTiles ? 5 : 4);
    }
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
    var map = L.map(container, { preferCanvas: true, scrollWheelZoom: false,
                                 attributionControl: !!(place.tiles && place.tiles.url) });
    var hasTiles = addTiles(map, place.tiles);
    var latlng = [place.lat, place.lon];
    var outline = place.outline ? outlineLayer([{ code: "", name: "", outline: place.outline }],
                                               false) : null;
    if (hasTiles || !outline) {
      map.setView(latlng, 14);
    } else {
      map.fitBounds(outline.getBounds().pad(0.05));
    }
    if (outline) { outline.addTo(map); }
    L.circleMarker(latlng, { radius: 8, weight: 2, color: "#ffffff",
                             fillColor: gapColour(place.gap), fillOpacity: 0.95 })
      .bindTooltip(place.name, { direction: "top", offset: [0, -8], permanent: !hasTiles })
      .addTo(map);
    container.dataset.loaded = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.L) { return; }
    var city = document.getElementById("school-map");
    if (city) { cityMap(city, readJSON("map-config")); }
    var mini = document.getElementById("school-location-map");
    if (mini) { schoolMap(mini, readJSON("school-location")); }
  });
})();
