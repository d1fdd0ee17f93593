/* What every map draws under its own points, so that a map with no tile server
   (MAP_TILE_URL empty: nothing is fetched from outside) is still a map: the county
   outlines with their names, and the user's schools as small grey dots. The schools
   come once from /schools/context.json ([lon, lat, name] rows; 2,029 in the reference
   city, drawn on one canvas). The URL is the script tag's data-schools-url:
   <script src=".../map_context.js" data-schools-url="/schools/context.json" defer>.

   window.campusSafetyMap.base(container, config, options) makes the Leaflet map:
   tiles if configured, outlines and labels from config.districts, fitted to them;
   options.schools (default true) adds the school dots; options.labels (default true)
   names the districts; other options go to L.map. Returns { map, outlines }. */
(function () {
  "use strict";
  var script = document.currentScript;
  var schoolsUrl = script && script.dataset.schoolsUrl;
  var schoolsOnce = null;
  var PANES = { districts: 250, schools: 300, labels: 450 };  // tiles 200, points 400, pins 600

  function panes(map) {
    Object.keys(PANES).forEach(function (name) {
      var pane = map.createPane("cs-" + name);
      pane.style.zIndex = String(PANES[name]);
      pane.style.pointerEvents = "none";  // context only: clicks reach the map's points
    });
  }

  function addTiles(map, tiles) {
    if (!tiles || !tiles.url) { return false; }
    L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 18 }).addTo(map);
    return true;
  }

  function districtLayer(districts, labels) {
    var features = (districts || []).filter(function (d) { return d.outline; }).map(function (d) {
      return { type: "Feature", geometry: d.outline, properties: { code: d.code, name: d.name } };
    });
    if (!features.length) { return null; }
    return L.geoJSON({ type: "FeatureCollection", features: features }, {
      pane: "cs-districts",
      interactive: false,
      style: { color: "#64748b", weight: 1.2, fillColor: "#ffffff", fillOpacity: 0.75 },
      onEachFeature: function (feature, layer) {
        if (labels && feature.properties.name) {
          layer.bindTooltip(feature.properties.name, {
            permanent: true, direction: "center", className: "district-label",
            pane: "cs-labels", interactive: false
          });
        }
      }
    });
  }

  function loadSchools() {
    if (!schoolsUrl) { return Promise.resolve({ schools: [] }); }
    if (!schoolsOnce) {
      schoolsOnce = fetch(schoolsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        });
    }
    return schoolsOnce;
  }

  function addSchools(map, container) {
    var renderer = L.canvas({ pane: "cs-schools", padding: 0.5 });
    return loadSchools().then(function (data) {
      var group = L.layerGroup();
      data.schools.forEach(function (row) {
        L.circleMarker([row[1], row[0]], {
          renderer: renderer, pane: "cs-schools", interactive: false, radius: 2.5,
          stroke: false, fillColor: "#64748b", fillOpacity: 0.45
        }).addTo(group);
      });
      group.addTo(map);
      container.dataset.contextSchools = String(data.schools.length);
      return group;
    }).catch(function (error) {
      container.dataset.contextSchools = "error";
      console.warn("map context:", error);
    });
  }

  function base(container, config, options) {
    var opts = options || {};
    var mapOptions = { preferCanvas: true, zoomSnap: 0.5 };
    Object.keys(opts).forEach(function (key) {
      if (key !== "schools" && key !== "labels") { mapOptions[key] = opts[key]; }
    });
    var map = L.map(container, mapOptions);
    panes(map);
    var hasTiles = addTiles(map, config.tiles);
    var outlines = districtLayer(config.districts, opts.labels !== false);
    // A view first: Leaflet cannot draw a layer on a map that has none yet.
    if (outlines) {
      map.fitBounds(outlines.getBounds().pad(0.02));
      outlines.addTo(map);
    } else {
      map.setView([35.0, 110.0], hasTiles ? 5 : 4);
    }
    container.dataset.districts = String(outlines ? outlines.getLayers().length : 0);
    if (opts.schools !== false) { addSchools(map, container); }
    return { map: map, outlines: outlines, hasTiles: hasTiles };
  }

  window.campusSafetyMap = { base: base, addTiles: addTiles, districtLayer: districtLayer };
})();
