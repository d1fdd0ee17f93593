/* Special operations: draw the area on the new-operation form (click the map to add a
   point; undo, clear; the points go to the form's polygon field as JSON [[lat, lon], …])
   and show an operation's area and comparison schools on its page. No inline script (CSP);
   data from json_script elements. Plain Leaflet: a polygon by clicks needs no plug-in. */
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var AREA = { color: "#b91c1c", weight: 2, fillOpacity: 0.12 };

  function drawForm(container, config) {
    var field = document.querySelector("[data-draw-polygon='" + container.id + "']");
    if (!field) { return; }
    var base = window.campusSafetyMap.base(container, config, { schools: true });
    var map = base.map;
    var points = [];
    try {
      var given = JSON.parse(field.value || "[]");
      if (Array.isArray(given)) { points = given.filter(function (p) { return p.length === 2; }); }
    } catch (e) { points = []; }
    var shape = L.polygon([], AREA).addTo(map);
    var dots = L.layerGroup().addTo(map);
    var counter = document.getElementById("draw-count");

    function redraw() {
      shape.setLatLngs(points);
      dots.clearLayers();
      points.forEach(function (p) {
        L.circleMarker(p, { radius: 4, color: "#b91c1c", weight: 1, fillOpacity: 1 }).addTo(dots);
      });
      field.value = points.length ? JSON.stringify(points) : "";
      container.dataset.points = String(points.length);
      if (counter) { counter.textContent = String(points.length); }
    }

    map.on("click", function (event) {
      if (points.length >= 200) { return; }
      points.push([Number(event.latlng.lat.toFixed(6)), Number(event.latlng.lng.toFixed(6))]);
      redraw();
    });
    var undo = document.getElementById("draw-undo");
    if (undo) { undo.addEventListener("click", function () { points.pop(); redraw(); }); }
    var clear = document.getElementById("draw-clear");
    if (clear) { clear.addEventListener("click", function () { points = []; redraw(); }); }
    field.addEventListener("change", function () {
      try {
        var typed = JSON.parse(field.value || "[]");
        if (Array.isArray(typed)) { points = typed; redraw(); }
      } catch (e) { /* the server says what is wrong with it */ }
    });
    redraw();
    if (points.length >= 3) { map.fitBounds(shape.getBounds().pad(0.5)); }
  }

  function showOperation(container, config) {
    var base = window.campusSafetyMap.base(container, config, { schools: false });
    var map = base.map;
    var bounds = L.latLngBounds([]);
    if ((config.polygon || []).length >= 3) {
      var shape = L.polygon(config.polygon, AREA).addTo(map);
      bounds.extend(shape.getBounds());
    }
    (config.area_schools || []).forEach(function (s) {
      var circle = L.circle([s[0], s[1]], { radius: 1000, color: "#b91c1c", weight: 1,
                                            fillOpacity: 0.06 }).bindTooltip(s[2]).addTo(map);
      bounds.extend(circle.getBounds());
    });
    (config.comparison_schools || []).forEach(function (s) {
      L.circleMarker([s[0], s[1]], { radius: 6, color: "#475569", weight: 1, fillOpacity: 0.7 })
        .bindTooltip(s[2]).addTo(map);
      bounds.extend([s[0], s[1]]);
    });
    container.dataset.areaSchools = String((config.area_schools || []).length);
    container.dataset.comparisonSchools = String((config.comparison_schools || []).length);
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.2)); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var config = readJSON("operation-map-config");
    if (!config || !window.L || !window.campusSafetyMap) { return; }
    var form = document.getElementById("operation-draw-map");
    if (form) { drawForm(form, config); }
    var page = document.getElementById("operation-map");
    if (page) { showOperation(page, config); }
  });
})();
