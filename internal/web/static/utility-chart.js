// backchannel: plots the viewer's own utility of each version of the text
// over time, with its reserved value, on "My preferences". The data comes
// from the page's <script type="application/json" id="utility-data">; no
// inline script, so the Content-Security-Policy (script-src 'self') holds.
(function () {
  var el = document.getElementById("utility-chart");
  var data = document.getElementById("utility-data");
  if (!el || !data || typeof uPlot === "undefined") {
    return;
  }
  var d = JSON.parse(data.textContent);
  var pct = function (u, v) { return v == null ? "" : (100 * v).toFixed(1) + "%"; };
  var opts = {
    width: Math.max(300, el.clientWidth || 600),
    height: 260,
    scales: { y: { range: [0, 1] } },
    series: [
      { label: "Time" },
      { label: "Your utility", stroke: "#1f5fa8", width: 2, points: { size: 7 }, value: pct },
      { label: "Reserved value", stroke: "#b3261e", dash: [6, 4], points: { show: false }, value: pct }
    ],
    axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return (100 * v).toFixed(0) + "%"; }); } }]
  };
  var chart = new uPlot(opts, [d.x, d.utility, d.reserved], el);
  window.addEventListener("resize", function () {
    chart.setSize({ width: Math.max(300, el.clientWidth), height: 260 });
  });
})();
