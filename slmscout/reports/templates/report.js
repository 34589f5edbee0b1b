// Draws the report's plots. The figures come from <script type="application/json"> blocks read with JSON.parse;
// nothing here writes HTML (no innerHTML): plotly labels in them were HTML-escaped when the page was written.
(function () {
  "use strict";
  function draw() {
    var targets = document.querySelectorAll("div[data-figure]");
    for (var i = 0; i < targets.length; i++) {
      var target = targets[i];
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source || typeof Plotly === "undefined") {
        continue;
      }
      var figure = JSON.parse(source.textContent);
      target.textContent = "";
      Plotly.newPlot(target, figure.data, figure.layout, figure.config);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
