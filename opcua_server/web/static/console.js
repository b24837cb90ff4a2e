// trustfloor console: live board panels (server-sent events) and charts (uPlot).
"use strict";

function followPanels() {
  const source = document.body.dataset.live;
  if (!source) return;
  const status = document.getElementById("live-status");
  const events = new EventSource(source);
  for (const panel of ["alerts", "orders", "printers", "machines"]) {
    events.addEventListener(panel, (event) => {
      const target = document.getElementById("panel-" + panel);
      const focused = document.activeElement && target.contains(document.activeElement);
      if (target && !focused) target.innerHTML = event.data;
    });
  }
  events.onopen = () => { if (status) status.textContent = "Live: updates arrive by themselves."; };
  events.onerror = () => { if (status) status.textContent = "Reconnecting…"; };
}

function chartWidth(figure) {
  return Math.max(280, Math.min(560, figure.parentElement.clientWidth - 20));
}

function drawChart(figure, data) {
  const t = data.t, v = data.v;
  const series = [{}, { label: data.label || "value", stroke: "#0b4f9c", width: 1.5 }];
  const columns = [t, v];
  if (data.low !== null && data.low !== undefined) {
    series.push({ label: "window low", stroke: "#7a0b0b", dash: [6, 4] });
    columns.push(t.map(() => data.low));
  }
  if (data.high !== null && data.high !== undefined) {
    series.push({ label: "window high", stroke: "#7a0b0b", dash: [6, 4] });
    columns.push(t.map(() => data.high));
  }
  new uPlot({ width: chartWidth(figure), height: 200, series: series }, columns, figure);
  figure.dataset.rendered = "true";
}

function drawEvidence() {
  const source = document.getElementById("evidence-data");
  if (!source) return;
  const charts = JSON.parse(source.textContent);
  for (const figure of document.querySelectorAll("figure[data-evidence]")) {
    const data = charts[figure.dataset.evidence];
    if (data) drawChart(figure, Object.assign({ label: figure.dataset.evidence + (data.unit ? " (" + data.unit + ")" : "") }, data));
  }
}

async function drawTrends() {
  for (const figure of document.querySelectorAll("figure[data-trend]")) {
    const response = await fetch(figure.dataset.trend, { credentials: "same-origin" });
    if (response.ok) drawChart(figure, await response.json());
  }
}

document.addEventListener("DOMContentLoaded", () => {
  followPanels();
  drawEvidence();
  drawTrends();
});
