// The one chart component (statistics, dashboard): draws every <canvas data-chart="ID">
// from the JSON in <script type="application/json" id="ID"> with the vendored Chart.js.
// A chart's JSON: {type: "bar"|"line", labels: [...], datasets: [{label, data}], and
// optionally horizontal, stacked, percent (a 0-100 axis), legend: false}. Its words come
// translated from the server; numbers are written in the page's language. On a phone the
// chart is short (charts.css), its legend below and its ticks few.
// window.AppCharts.update(canvas, {labels, datasets}) redraws one with new figures.
// A chart with nothing to count says so over its axes: its box's data-empty, in words.
"use strict";

(() => {
  const PALETTE = ["#0b5cad", "#137a3c", "#b42318", "#8a5a00", "#6b21a8", "#0e7490", "#be185d"];
  const narrow = () => window.matchMedia("(max-width: 480px)").matches;

  function styled(datasets, spec) {
    return datasets.map((set, i) => {
      const color = set.color || PALETTE[i % PALETTE.length];
      return {
        ...set,
        borderColor: color,
        backgroundColor: spec.type === "line" ? color : color + "cc",
        borderWidth: spec.type === "line" ? 2 : 0,
        pointRadius: spec.type === "line" ? (narrow() ? 1.5 : 2.5) : undefined,
        tension: 0.2,
        spanGaps: true,
        maxBarThickness: 28,
      };
    });
  }

  // A long category label (a refusal reason) in at most three short lines, not cut off.
  function wrap(label, width) {
    const text = String(label);
    const spaced = /\s/.test(text);
    if (!spaced) width = Math.ceil(width / 2);  // Chinese: each character twice as wide
    if (text.length <= width) return text;
    const words = spaced ? text.split(/\s+/) : text.match(new RegExp(`.{1,${width}}`, "g"));
    const lines = [];
    for (const word of words) {
      const last = lines.length ? lines[lines.length - 1] : null;
      if (last !== null && (last + " " + word).length <= width) lines[lines.length - 1] = last + " " + word;
      else lines.push(word);
    }
    if (lines.length > 3) lines.splice(2, lines.length, lines[2].slice(0, width - 1) + "…");
    return lines;
  }

  function options(spec) {
    const small = narrow();
    const lang = document.documentElement.lang || undefined;
    const value = {
      beginAtZero: true,
      stacked: Boolean(spec.stacked),
      ticks: { precision: 0, maxTicksLimit: small ? 4 : 6, font: { size: small ? 10 : 12 } },
    };
    if (spec.percent) {
      value.max = 100;
      value.ticks.callback = (v) => `${v}%`;
    }
    const category = {
      stacked: Boolean(spec.stacked),
      grid: { display: false },
      ticks: {
        autoSkip: true,
        maxRotation: 0,
        maxTicksLimit: spec.horizontal ? undefined : (small ? 5 : 10),
        font: { size: small ? 10 : 12 },
        callback(value) {
          const label = this.getLabelForValue(value);
          return spec.horizontal ? wrap(label, small ? 14 : 28) : label;
        },
      },
    };
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      locale: lang,
      indexAxis: spec.horizontal ? "y" : "x",
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: {
          display: spec.legend !== false,
          position: "bottom",
          labels: { boxWidth: 10, boxHeight: 10, padding: small ? 6 : 10, font: { size: small ? 10 : 12 } },
        },
        tooltip: spec.percent ? { callbacks: { label: (c) => `${c.dataset.label}: ${c.formattedValue}%` } } : {},
      },
      scales: spec.horizontal ? { x: value, y: category } : { x: category, y: value },
    };
  }

  const specs = new WeakMap();

  function markEmpty(canvas, spec) {
    const box = canvas.closest(".chart-box");
    const counted = (spec.datasets || []).some((set) => (set.data || []).some((v) => Number(v) > 0));
    if (box && box.dataset.empty) box.classList.toggle("is-empty", !counted);
  }

  function draw(canvas, spec) {
    specs.set(canvas, spec);
    markEmpty(canvas, spec);
    return new Chart(canvas, {
      type: spec.type || "bar",
      data: { labels: spec.labels || [], datasets: styled(spec.datasets || [], spec) },
      options: options(spec),
    });
  }

  function update(canvas, figures) {
    const chart = Chart.getChart(canvas);
    if (!chart) return;
    const spec = { ...specs.get(canvas), ...figures };
    specs.set(canvas, spec);
    chart.data.labels = spec.labels;
    chart.data.datasets = styled(spec.datasets, spec);
    markEmpty(canvas, spec);
    chart.update();
  }

  function drawAll() {
    if (!window.Chart) return;  // the library did not load: the tables and lists stay
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source || Chart.getChart(canvas)) return;
      draw(canvas, JSON.parse(source.textContent));
      const card = canvas.closest("[data-chart-card]");
      if (card) card.classList.add("charted");  // its text list now only for screen readers
    });
  }

  window.AppCharts = { draw, update, spec: (canvas) => specs.get(canvas) };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
