/* The device layer: one-key alarms and school NVRs coloured by live state.

   On /devices/map/ it draws its own map. On any other page that loads this script
   after Leaflet (e.g. the school map), it adds the layer to every map that page
   creates, through Leaflet's own init hook (L.Map.addInitHook), with a layer switch,
   so map.js needs no change. The data URL comes from the page config or from the
   script tag: <script src=".../devices_map.js" data-layer-url="/devices/map.geojson" defer>.
   Also exposed as window.campusSafetyDevices.addTo(map, options). */
(function () {
  "use strict";
  var script = document.currentScript;
  var DEFAULT_COLOURS = { online: "#16a34a", offline: "#dc2626", fault: "#7c2d12", unknown: "#94a3b8" };

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

  function popup(feature, config) {
    var p = feature.properties;
    var box = el("div");
    box.appendChild(el("div", p.name, "popup-title"));
    box.appendChild(el("div", ((config.kinds || {})[p.kind] || p.kind) + " · " +
                              ((config.statuses || {})[p.status] || p.status), "muted"));
    if (p.school) { box.appendChild(el("div", p.school)); }
    if (p.flapping) { box.appendChild(el("div", (config.labels || {}).flapping || "flapping", "tag warn")); }
    if (config.detailUrlPrefix) {
      var link = el("a", ((config.labels || {}).details || "Details") + " →");
      link.href = config.detailUrlPrefix + feature.id + "/";
      box.appendChild(link);
    }
    return box;
  }

  /* Load the layer into ``map``; resolves with the Leaflet layer group. */
  function addTo(map, options) {
    var config = options || {};
    var colours = config.colours || DEFAULT_COLOURS;
    // Its own pane just above the page's own points (overlay pane, 400), so the layer
    // is on top whichever answer arrives first, and its switch shows what is under it.
    if (!map.getPane("cs-devices")) { map.createPane("cs-devices").style.zIndex = "410"; }
    var renderer = L.canvas({ padding: 0.5, pane: "cs-devices" });
    var group = L.layerGroup();
    var url = config.dataUrl || (script && script.dataset.layerUrl) || "/devices/map.geojson";
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        data.features.forEach(function (feature) {
          var p = feature.properties;
          var latlng = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
          L.circleMarker(latlng, {
            renderer: renderer, pane: "cs-devices", radius: p.kind === "one_key_alarm" ? 5 : 3.5,
            weight: p.flapping ? 2 : 1, color: p.flapping ? "#f59e0b" : "#ffffff",
            fillColor: colours[p.status] || DEFAULT_COLOURS.unknown, fillOpacity: 0.9
          }).bindPopup(function () { return popup(feature, config); }).addTo(group);
        });
        group.addTo(map);
        group.featureCount = data.features.length;
        return group;
      });
  }

  function deviceMap(container, config) {
    var map = window.campusSafetyMap.base(container, config).map;
    var counter = document.getElementById("device-map-count");
    addTo(map, config).then(function (group) {
      container.dataset.loaded = "true";
      container.dataset.markers = String(group.featureCount);
      if (counter) { counter.textContent = group.featureCount.toLocaleString(); }
    }).catch(function (error) {
      container.dataset.loaded = "error";
      if (counter) { counter.textContent = "—"; }
      console.warn("device map:", error);
    });
  }

  if (!window.L) { return; }
  window.campusSafetyDevices = { addTo: addTo };

  var ownPage = !!document.getElementById("device-map-config");
  if (!ownPage) {
    /* Another page's map (the school map): add the layer, switchable, once it exists. */
    L.Map.addInitHook(function () {
      var map = this;
      if (map.getContainer().id !== "school-map") { return; }
      map.whenReady(function () {
        addTo(map, {}).then(function (group) {
          var overlays = {};
          overlays[(script && script.dataset.layerName) || "Devices"] = group;
          L.control.layers(null, overlays, { collapsed: false }).addTo(map);
        }).catch(function (error) { console.warn("device layer:", error); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("device-map");
    if (container && window.campusSafetyMap) { deviceMap(container, readJSON("device-map-config")); }
  });
})();
