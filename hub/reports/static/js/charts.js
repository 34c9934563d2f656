// Chart.js (vendored from npm by scripts/setup.d/60-charts.sh) and its matrix plugin for the heatmap.
const charts = new Map();
const ACCENT = "#7b2d8e";
export const SCORES = ["#b42318", "#f04438", "#f79009", "#66c61c", "#1a7f37"];  // 1★ … 5★
const PALETTE = ["#7b2d8e", "#2e90fa", "#12b76a", "#f79009", "#ee46bc", "#667085"];

function draw(id, config) {
  charts.get(id)?.destroy();
  const canvas = document.getElementById(id);
  const chart = new window.Chart(canvas, {...config, options: {responsive: true, maintainAspectRatio: false,
    animation: false, ...config.options}});
  charts.set(id, chart);
  return chart;
}

export function line(id, labels, values, label) {
  return draw(id, {type: "line", data: {labels, datasets: [{label, data: values, borderColor: ACCENT,
    backgroundColor: "rgba(123,45,142,.15)", fill: true, cubicInterpolationMode: "monotone", pointRadius: 2}]},
    options: {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true, ticks: {precision: 0}}}}});
}

export function bar(id, labels, values, label, {horizontal = false, colors = PALETTE} = {}) {
  return draw(id, {type: "bar", data: {labels, datasets: [{label, data: values,
    backgroundColor: labels.map((_, i) => colors[i % colors.length])}]},
    options: {indexAxis: horizontal ? "y" : "x", plugins: {legend: {display: false}},
      scales: {[horizontal ? "x" : "y"]: {beginAtZero: true, ticks: {precision: 0}}}}});
}

export function heatmap(id, weekdays, hours, counts) {
  const max = Math.max(1, ...counts.flat());
  const data = [];
  counts.forEach((row, d) => row.forEach((v, h) => data.push({x: String(hours[h]).padStart(2, "0"), y: weekdays[d], v})));
  return draw(id, {type: "matrix", data: {datasets: [{label: "conversations", data,
    backgroundColor: (ctx) => `rgba(123,45,142,${0.06 + 0.94 * ((ctx.raw?.v || 0) / max)})`,
    borderColor: "#fff", borderWidth: 1,
    width: ({chart}) => (chart.chartArea || {}).width / 24 - 1,
    height: ({chart}) => (chart.chartArea || {}).height / 7 - 1}]},
    options: {plugins: {legend: {display: false}, tooltip: {callbacks: {
      title: (items) => `${items[0].raw.y} ${items[0].raw.x}:00`, label: (item) => `${item.raw.v} conversations`}}},
      scales: {x: {type: "category", labels: hours.map((h) => String(h).padStart(2, "0")), grid: {display: false}},
               y: {type: "category", labels: [...weekdays].reverse(), offset: true, grid: {display: false}}}}});
}
