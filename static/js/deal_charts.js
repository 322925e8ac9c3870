// 周期 tab: the Kaplan–Meier "share won by day" curve of each group, as ECharts step lines.
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("km-chart");
    var data = document.getElementById("km-data");
    if (!node || !data || !window.echarts) return;
    var groups = JSON.parse(data.textContent);
    var chart = window.echarts.init(node);
    chart.setOption({
      grid: { left: 44, right: 16, top: 36, bottom: 48 },
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
      xAxis: { type: "value", name: node.dataset.xName || "", nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: groups.map(function (g) {
        return { name: g.name, type: "line", step: "end", showSymbol: false, data: g.data };
      }),
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
