/* Intel pages: the incident map (density cells, alert circles, an alert's incidents) and
   a group's graph. Data comes from json_script elements; no inline script (CSP). */
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function shade(count, top) {
    var t = Math.min(1, count / Math.max(1, top));
    return "rgba(220, 38, 38, " + (0.12 + 0.6 * t).toFixed(2) + ")";
  }

  function drawMap() {
    var container = document.getElementById("intel-map");
    var config = readJSON("intel-map-config");
    if (!container || !config || !window.L || !window.campusSafetyMap) { return; }
    var base = window.campusSafetyMap.base(container, config, { schools: !config.focus });
    var map = base.map;
    var cells = config.density || [];
    var top = 0;
    cells.forEach(function (c) { top = Math.max(top, c[2]); });
    cells.forEach(function (c) {
      L.rectangle([[c[0], c[1]], [c[0] + 0.01, c[1] + 0.01]],
                  { stroke: false, fillColor: shade(c[2], top), fillOpacity: 1 })
        .bindTooltip(String(c[2])).addTo(map);
    });
    var circles = [];
    (config.circles || []).forEach(function (c) {
      var circle = L.circle([c.lat, c.lon], {
        radius: c.radius, color: c.open ? "#b91c1c" : "#64748b", weight: 2, fillOpacity: 0.08
      });
      var link = document.createElement("a");
      link.href = c.url;
      link.textContent = c.label;
      circle.bindPopup(link);
      circle.addTo(map);
      circles.push(circle);
    });
    (config.points || []).forEach(function (p) {
      L.circleMarker([p[0], p[1]], { radius: 5, color: "#1d4ed8", weight: 1, fillOpacity: 0.8 })
        .bindTooltip(p[2]).addTo(map);
    });
    container.dataset.circles = String(circles.length);
    container.dataset.cells = String(cells.length);
    if (config.focus && circles.length) {
      map.fitBounds(circles[0].getBounds().pad(1.5));
    } else if (cells.length) {  // where the incidents are, not the whole region
      var south = 90, west = 180, north = -90, east = -180;
      cells.forEach(function (c) {
        south = Math.min(south, c[0]); west = Math.min(west, c[1]);
        north = Math.max(north, c[0] + 0.01); east = Math.max(east, c[1] + 0.01);
      });
      map.fitBounds([[south, west], [north, east]], { padding: [12, 12] });
    }
  }

  function drawGraph() {
    var node = document.getElementById("group-graph");
    var data = readJSON("group-graph-data");
    if (!node || !data || !window.echarts) { return; }
    var chart = window.echarts.init(node);
    chart.setOption({
      color: ["#b91c1c", "#1d4ed8"],
      legend: { data: data.categories },
      tooltip: {},
      series: [{
        type: "graph", layout: "force", roam: true, draggable: true,
        label: { show: true, position: "right", fontSize: 12 },
        force: { repulsion: 220, edgeLength: 80 },
        categories: data.categories.map(function (name) { return { name: name }; }),
        data: data.nodes.map(function (n) {
          return { id: n.id, name: n.name, category: n.category,
                   symbolSize: n.category === 0 ? 22 : 14 };
        }),
        links: data.links
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawMap();
    drawGraph();
  });
})();
