/// <reference lib="dom" />
// The distribution of the difference quotients |D(x) − D(x̂)| / ‖x − x̂‖ over the current batch;
// bars right of K are the violations ALP penalises.
import { axes, COLORS, fmt, mapper, prepare } from './plot.js';

const BINS = 40;

export function drawHistogram(canvas: HTMLCanvasElement, d: { ratio: Float32Array; K: number }): void {
  const { g, width, height } = prepare(canvas);
  const box = { left: 44, top: 26, width: width - 60, height: height - 64 };
  const finite = Array.from(d.ratio).filter(Number.isFinite);
  const top = Math.max(2 * d.K, 0.1, ...finite) * 1.02;
  const counts = new Array(BINS).fill(0);
  for (const q of finite) counts[Math.min(BINS - 1, Math.floor((q / top) * BINS))]++;
  const cMax = Math.max(1, ...counts);
  const f = { xMin: 0, xMax: top, yMin: 0, yMax: cMax * 1.1 };
  const m = mapper(f, box);
  axes(g, f, box, { gridLines: true, yTicks: 4 });
  for (let b = 0; b < BINS; b++) {
    const x0 = m.x((b * top) / BINS);
    const x1 = m.x(((b + 1) * top) / BINS);
    g.fillStyle = ((b + 0.5) * top) / BINS > d.K ? COLORS.violation : COLORS.ok;
    g.fillRect(x0 + 0.5, m.y(counts[b]), Math.max(1, x1 - x0 - 1), m.y(0) - m.y(counts[b]));
  }
  g.strokeStyle = COLORS.text;
  g.setLineDash([4, 3]);
  g.beginPath();
  g.moveTo(m.x(d.K), box.top);
  g.lineTo(m.x(d.K), box.top + box.height);
  g.stroke();
  g.setLineDash([]);
  const v = finite.filter((q) => q > d.K).length;
  g.fillStyle = COLORS.text;
  g.textAlign = 'left';
  g.textBaseline = 'middle';
  g.fillText(
    `K = ${fmt(d.K)}:  ${v} of ${finite.length} pairs violate; mean ratio ${fmt(finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length))}`,
    box.left,
    12,
  );
  g.textAlign = 'center';
  g.textBaseline = 'bottom';
  g.fillStyle = COLORS.muted;
  g.fillText('|D(x) − D(x̂)| / ‖x − x̂‖', box.left + box.width / 2, height - 2);
}
