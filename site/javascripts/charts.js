// Draws every chart on the page: each is a plotly figure as JSON in a
// <script type="application/json" data-chart="ID"> beside its <div id="ID">.
(function () {
  function draw() {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll("script[data-chart]").forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-chart"));
      if (!target || target.getAttribute("data-drawn")) return;
      var figure = JSON.parse(node.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
      });
      target.setAttribute("data-drawn", "1");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
