/* The 4×100% board's weekly trend: one line per target, rates of each week. */
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("targets-trend");
    if (!box || !window.echarts) return;
    var labels = box.dataset.labels.split("|"), keys = box.dataset.keys.split("|");
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var chart = window.echarts.init(box);
        chart.setOption({
          tooltip: { trigger: "axis", valueFormatter: function (v) { return (100 * v).toFixed(1) + "%"; } },
          legend: { top: 0 },
          grid: { left: 48, right: 16, top: 36, bottom: 28 },
          xAxis: { type: "category", data: data.weeks.map(function (w) { return w.week.slice(5); }) },
          yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
          series: keys.map(function (key, i) {
            return { name: labels[i], type: "line", data: data.weeks.map(function (w) { return w.rates[key]; }) };
          }),
        });
        box.dataset.loaded = "true";
        window.addEventListener("resize", function () { chart.resize(); });
      });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
