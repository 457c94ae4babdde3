// Charts drawn as SVG, with nothing but the page's own code: bars for money over
// periods, a line for a measure over time. Each mark has a <title> (its exact value).

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 180;
const PAD = 28;

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  for (const child of children) {
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function frame(label, max, format) {
  return svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "chart" },
    svg("line", { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, class: "axis" }),
    svg("text", { x: 0, y: 12, class: "tick" }, format(max)),
    svg("text", { x: 0, y: H - PAD, class: "tick" }, format(0)));
}

// points: [{label, value, title}]
export function bars(points, { label = "", format = (v) => v.toFixed(2) } = {}) {
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const chart = frame(label, max, format);
  const step = (W - PAD) / Math.max(points.length, 1);
  points.forEach((point, index) => {
    const height = ((H - 2 * PAD) * point.value) / max;
    const x = PAD + index * step + step * 0.15;
    chart.append(svg("rect", { x, y: H - PAD - height, width: step * 0.7, height, class: "bar",
      "data-value": point.value }, svg("title", {}, point.title ?? `${point.label}: ${format(point.value)}`)));
    if (points.length <= 16 || index % Math.ceil(points.length / 12) === 0) {
      chart.append(svg("text", { x: x + step * 0.35, y: H - 8, class: "tick", "text-anchor": "middle" }, point.label));
    }
  });
  return chart;
}

// points: [{at: Date, value}]
export function line(points, { label = "", format = (v) => v.toFixed(1) } = {}) {
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const chart = frame(label, max, format);
  if (points.length < 1) return chart;
  const first = +points[0].at;
  const span = (+points[points.length - 1].at - first) || 1;
  const xy = points.map((p) => [PAD + ((W - PAD) * (+p.at - first)) / span,
    H - PAD - ((H - 2 * PAD) * p.value) / max]);
  chart.append(svg("polyline", { points: xy.map((p) => p.join(",")).join(" "), class: "line" }));
  return chart;
}
