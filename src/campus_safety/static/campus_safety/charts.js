/* ECharts for the dashboards. Each <div data-chart="ID"> reads its spec from the
   json_script element ID (built by reports/charts.py); labels arrive translated. */
(function () {
  "use strict";
  var PALETTE = ["#1d4ed8", "#0f766e", "#f59e0b", "#b91c1c", "#7c3aed", "#0891b2",
                 "#65a30d", "#db2777", "#64748b"];
  var charts = [];

  function pieOption(spec) {
    return {
      color: PALETTE,
      tooltip: { trigger: "item", formatter: "{b}<br>{c} ({d}%)" },
      legend: { type: "scroll", orient: "vertical", right: 4, top: "middle",
                textStyle: { fontSize: 12 } },
      series: [{
        type: "pie", radius: ["42%", "70%"], center: ["36%", "50%"],
        avoidLabelOverlap: true, label: { show: false },
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
        data: spec.series[0].data
      }]
    };
  }

  function barOption(spec) {
    var horizontal = !!spec.horizontal;
    var category = { type: "category", data: spec.categories,
                     axisLabel: { fontSize: 12, interval: 0, rotate: horizontal ? 0 :
                       (spec.categories.length > 8 ? 30 : 0) },
                     axisTick: { alignWithLabel: true } };
    var value = { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } };
    return {
      color: PALETTE,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { show: spec.series.length > 1, type: "scroll", top: 0, textStyle: { fontSize: 12 } },
      grid: { left: 8, right: 16, top: spec.series.length > 1 ? 30 : 10, bottom: 4,
              containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? Object.assign(category, { inverse: true }) : value,
      series: spec.series.map(function (s) {
        return { type: "bar", name: s.name, data: s.data, stack: s.stack || undefined,
                 itemStyle: s.color ? { color: s.color } : undefined,
                 barMaxWidth: 28, emphasis: { focus: "series" } };
      })
    };
  }

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      var old = window.echarts.getInstanceByDom(el);
      if (old) { old.dispose(); }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(spec.type === "pie" ? pieOption(spec) : barOption(spec));
      charts.push(chart);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.detail.elt); });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { if (!c.isDisposed()) { c.resize(); } });
  });
})();
