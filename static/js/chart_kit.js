// What every chart page shares (loaded before its own script, after ECharts): the data of a
// json_script block, a chart mounted on an element that follows the window's size, and a
// percentage as the tooltips write it.
(function () {
  "use strict";
  window.stCharts = {
    data: function (id) {
      var node = document.getElementById(id);
      return node ? JSON.parse(node.textContent) : null;
    },
    mount: function (id) {
      var node = document.getElementById(id);
      if (!node || !window.echarts) return null;
      var chart = window.echarts.init(node);
      window.addEventListener("resize", function () { chart.resize(); });
      return chart;
    },
    percent: function (v) { return v === null || v === undefined ? "–" : v + "%"; },
  };
})();
