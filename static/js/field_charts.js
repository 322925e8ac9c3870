// Field pages: the missing-record and visit rates day by day (拜访达成), and reported vs redeemed per
// region (促销执行真实度). ECharts, vendored; data from json_script blocks.
(function () {
  "use strict";
  var data = window.stCharts.data;
  var mount = window.stCharts.mount;
  var percent = window.stCharts.percent;

  function trend() {
    var d = data("compliance-trend-data");
    var chart = d && mount("compliance-trend");
    if (!chart) return;
    chart.setOption({
      grid: { left: 40, right: 16, top: 40, bottom: 28 },
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: percent },
      xAxis: { type: "category", data: d.days },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: d.names.missing, type: "line", data: d.missing, connectNulls: false, itemStyle: { color: "#d93025" } },
        { name: d.names.visit, type: "line", data: d.visit, connectNulls: false, itemStyle: { color: "#1f5fbf" } },
      ],
    });
  }

  function reality() {
    var d = data("reality-chart-data");
    var chart = d && mount("reality-chart");
    if (!chart) return;
    chart.setOption({
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: percent },
      xAxis: { type: "category", data: d.regions, axisLabel: { interval: 0 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: d.names.reported, type: "bar", data: d.reported, itemStyle: { color: "#9aa5b1" } },
        { name: d.names.redeemed, type: "bar", data: d.redeemed, itemStyle: { color: "#1f5fbf" } },
      ],
    });
  }

  function start() { trend(); reality(); }
  if (window.echarts) start();
  else window.addEventListener("load", start);
})();
