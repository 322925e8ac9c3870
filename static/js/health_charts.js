// 动作健康度: the 8-week trend, the stage × obstacle bubbles (a click loads the actions behind one),
// and contact quality per rep and week by week. ECharts, vendored; data from json_script blocks.
(function () {
  "use strict";
  var data = window.stCharts.data;
  var mount = window.stCharts.mount;
  var percent = window.stCharts.percent;

  function trend() {
    var d = data("trend-data");
    var chart = d && mount("trend-chart");
    if (!chart) return;
    var lines = (chart.getDom().dataset.lines || "").split(",").map(function (s) { return parseInt(s, 10); });
    chart.setOption({
      grid: { left: 36, right: 16, top: 48, bottom: 28 },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.weeks },
      yAxis: { type: "value", min: 0, max: 100 },
      series: d.series.map(function (s, i) {
        var series = { name: s.name, type: "line", data: s.data, connectNulls: true };
        if (i === 0) {
          series.markLine = {
            silent: true, symbol: "none", lineStyle: { type: "dashed" },
            data: lines.filter(function (v) { return !isNaN(v); }).map(function (v) { return { yAxis: v, label: { position: "insideEndTop", formatter: v + "%" } }; }),
          };
        }
        return series;
      }),
    });
  }

  function heatmap() {
    var d = data("heat-data");
    var chart = d && mount("heat-chart");
    if (!chart) return;
    var node = chart.getDom();
    var l = d.labels;
    chart.setOption({
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: {
        confine: true,
        formatter: function (p) {
          var c = p.data.cell;
          return "<strong>" + d.stages[c.x] + " × " + d.obstacles[c.y] + "</strong><br>" +
            l.actions + ": " + c.actions + "<br>" + l.customers + ": " + c.customers + "<br>" +
            l.share + ": " + percent(c.share) + "<br>" + l.mismatched + ": " + c.mismatched + "<br>" +
            l.expected + ": " + (c.expected === null ? "–" : c.expected) + "<br>" +
            l.residual + ": " + (c.residual === null ? "–" : c.residual) + (c.marked ? "<br><strong>" + l.marked + "</strong>" : "");
        },
      },
      xAxis: { type: "category", data: d.stages, axisLabel: { interval: 0, rotate: node.clientWidth < 480 ? 40 : 0 }, splitLine: { show: true } },
      yAxis: { type: "category", data: d.obstacles, axisLabel: { interval: 0 }, splitLine: { show: true } },
      series: [{
        type: "scatter",
        data: d.cells.map(function (c) {
          return {
            value: [c.x, c.y, c.actions],
            cell: c,
            itemStyle: c.marked ? { color: "#d93025", borderColor: "#7a1010", borderWidth: 2 } : { color: "#1f5fbf", opacity: 0.7 },
          };
        }),
        symbolSize: function (v) { return 8 + 40 * Math.sqrt(v[2] / d.peak); },
        label: { show: true, formatter: function (p) { return p.data.cell.actions; }, color: "#fff", fontSize: 11 },
      }],
    });
    chart.on("click", function (p) {
      var c = p.data && p.data.cell;
      if (!c || !window.htmx) return;
      var url = node.dataset.cellUrl + "&stage=" + encodeURIComponent(d.stage_codes[c.x]) +
        "&obstacle=" + encodeURIComponent(d.obstacle_codes[c.y]);
      window.htmx.ajax("GET", url, { target: "#cell-actions" }).then(function () {
        var target = document.getElementById("cell-actions");
        if (target && target.scrollIntoView) target.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    });
  }

  function quality() {
    var d = data("quality-data");
    if (!d) return;
    var per = mount("quality-chart");
    if (per) {
      per.setOption({
        grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", valueFormatter: percent },
        xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        yAxis: { type: "category", data: d.reps, inverse: true },
        series: [{
          name: d.names.ratio, type: "bar", data: d.ratios.map(function (v) {
            return { value: v, itemStyle: { color: v !== null && v < d.line ? "#d93025" : "#1f5fbf" } };
          }),
          markLine: { silent: true, symbol: "none", lineStyle: { type: "dashed" }, data: [{ xAxis: d.line, label: { position: "insideEndTop", formatter: d.line + "%" } }] },
        }],
      });
    }
    var weekly = mount("feedback-chart");
    if (weekly) {
      weekly.setOption({
        grid: { left: 36, right: 16, top: 40, bottom: 28 },
        legend: { top: 0 },
        tooltip: { trigger: "axis", valueFormatter: percent },
        xAxis: { type: "category", data: d.weeks },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: [
          { name: d.names.feedback, type: "line", data: d.feedback, connectNulls: true },
          { name: d.names.ratio, type: "line", data: d.high_value, connectNulls: true },
        ],
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () { trend(); heatmap(); quality(); });
})();
