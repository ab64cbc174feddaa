// The supervisors' dashboard: draws two charts and refreshes every figure by polling
// GET /api/v1/dashboard (no page reload).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("updated");
  if (!source || !window.Chart) return;
  const palette = ["#0b5cad", "#137a3c", "#b42318", "#8a5a00", "#6b21a8", "#0e7490", "#be185d"];
  let figures = JSON.parse(document.getElementById("dashboard-data").textContent);

  const gates = new Chart(document.getElementById("gates-chart"), {
    type: "line",
    data: { labels: [], datasets: [] },
    options: { animation: false, responsive: true, plugins: { legend: { position: "bottom" } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const days = new Chart(document.getElementById("days-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "", data: [], backgroundColor: "#0b5cad" }] },
    options: { animation: false, responsive: true, plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });

  function pick(path) {
    return path.split(".").reduce((value, key) => (value == null ? value : value[key]), figures);
  }

  function draw() {
    document.querySelectorAll("[data-figure]").forEach((node) => {
      node.textContent = pick(node.dataset.figure);
      const flagged = node.closest("[data-warn-if-any]");
      if (flagged) flagged.classList.toggle("warn", Number(node.textContent) > 0);  // red only when any
    });
    const hourly = figures.scans_per_gate_hourly;
    gates.data.labels = hourly.hours;
    gates.data.datasets = Object.entries(hourly.series).map(([code, counts], i) => ({
      label: code, data: counts, borderColor: palette[i % palette.length], tension: 0.2,
    }));
    gates.update();
    days.data.labels = figures.daily_trips.days.map((d) => d.slice(5));
    days.data.datasets[0].data = figures.daily_trips.counts;
    days.update();
    source.dataset.generated = figures.generated_at;
  }

  async function refresh() {
    try {
      const response = await fetch(source.dataset.source, { credentials: "same-origin" });
      if (response.ok) {
        figures = await response.json();
        draw();
      }
    } catch (error) {
      // Offline for a moment: keep the last figures and try again.
    }
  }

  draw();
  setInterval(refresh, Number(source.dataset.every) || 10000);
});
