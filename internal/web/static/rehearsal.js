// backchannel: the rehearsal page. Shows that a rehearsal is running once
// the form is sent (it takes a moment), and plots the histogram of the
// viewer's utility at agreement with uPlot, with the reserved value. The
// data comes from the page's <script type="application/json"
// id="rehearsal-data">; no inline script, so the Content-Security-Policy
// (script-src 'self') holds.
(function () {
  var form = document.getElementById("rehearsal");
  var progress = document.getElementById("rehearsal-progress");
  var submit = document.getElementById("rehearsal-submit");
  if (form && progress) {
    form.addEventListener("submit", function () {
      // Only if it takes more than a moment, so a quick answer does not flash.
      setTimeout(function () { progress.hidden = false; }, 300);
      if (submit) { submit.setAttribute("aria-busy", "true"); }
    });
    // Coming back to the page (back/forward cache) shows no stale progress.
    window.addEventListener("pageshow", function () {
      progress.hidden = true;
      if (submit) { submit.removeAttribute("aria-busy"); }
    });
  }

  var el = document.getElementById("rehearsal-chart");
  var data = document.getElementById("rehearsal-data");
  if (!el || !data || typeof uPlot === "undefined") {
    return;
  }
  var d = JSON.parse(data.textContent);
  var pct = function (u, v) { return v == null ? "" : (100 * v).toFixed(0) + "%"; };
  var top = Math.max.apply(null, d.count.concat([1]));
  // The reserved value, a dashed vertical line drawn over the bars.
  var reservedLine = function (u) {
    var x = u.valToPos(d.reserved, "x", true);
    var c = u.ctx;
    c.save();
    c.strokeStyle = "#b3261e";
    c.lineWidth = 2;
    c.setLineDash([6, 4]);
    c.beginPath();
    c.moveTo(x, u.bbox.top);
    c.lineTo(x, u.bbox.top + u.bbox.height);
    c.stroke();
    c.restore();
  };
  var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.9, 80] }) : undefined;
  var opts = {
    width: Math.max(300, el.clientWidth || 600),
    height: 240,
    scales: { x: { time: false, range: [0, 1] }, y: { range: [0, top] } },
    series: [
      { label: "Your utility at agreement", value: pct },
      { label: "Runs", fill: "rgba(31, 95, 168, 0.35)", stroke: "#1f5fa8", paths: bars, points: { show: false } }
    ],
    hooks: { draw: [reservedLine] },
    axes: [{ values: function (u, vals) { return vals.map(function (v) { return (100 * v).toFixed(0) + "%"; }); } }, {}]
  };
  var chart = new uPlot(opts, [d.x, d.count], el);
  window.addEventListener("resize", function () {
    chart.setSize({ width: Math.max(300, el.clientWidth), height: 240 });
  });
})();
