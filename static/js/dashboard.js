// The supervisors' dashboard: refreshes every figure and its two charts (drawn by
// charts.js) by polling GET /api/v1/dashboard (no page reload).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("updated");
  if (!source) return;
  let figures = JSON.parse(document.getElementById("dashboard-data").textContent);
  const gates = document.getElementById("gates-chart");
  const days = document.getElementById("days-chart");

  function pick(path) {
    return path.split(".").reduce((value, key) => (value == null ? value : value[key]), figures);
  }

  function draw() {
    document.querySelectorAll("[data-figure]").forEach((node) => {
      node.textContent = pick(node.dataset.figure);
      const flagged = node.closest("[data-warn-if-any]");
      if (flagged) flagged.classList.toggle("warn", Number(node.textContent) > 0);  // red only when any
    });
    if (window.AppCharts) {
      const hourly = figures.scans_per_gate_hourly;
      AppCharts.update(gates, {
        labels: hourly.hours,
        datasets: Object.entries(hourly.series).map(([code, counts]) => ({ label: code, data: counts })),
      });
      const trips = ((AppCharts.spec(days) || {}).datasets || [])[0] || {};
      AppCharts.update(days, {
        labels: figures.daily_trips.days.map((d) => d.slice(5)),
        datasets: [{ label: trips.label, data: figures.daily_trips.counts }],
      });
    }
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
