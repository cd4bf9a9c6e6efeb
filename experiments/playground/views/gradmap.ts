/// <reference lib="dom" />
// ‖∇_x D‖ over the plane as a heat map with its colour bar; the target K is marked on the bar,
// so regions the critic is steeper than K stand out.
import { axes, colourBar, drawGrid, mapper, prepare, quantile, viridis, type Frame } from './plot.js';

/** A round upper end for the colour scale: at least 1.5·K, else the 99th percentile. */
function scaleTop(values: Float32Array, K: number): number {
  const p = Math.max(1.5 * Math.max(K, 1e-3), quantile(values, 0.99));
  const mag = 10 ** Math.floor(Math.log10(p));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((s) => s * mag).find((s) => s >= p)!;
}

export function drawGradMap(
  canvas: HTMLCanvasElement,
  d: { gradNorm: Float32Array; n: number; frame: Frame; K: number; real: Float32Array },
): void {
  const { g, width, height } = prepare(canvas);
  const size = Math.min(width - 140, height - 50);
  const box = { left: 40, top: 26, width: size, height: size };
  const hi = scaleTop(d.gradNorm, d.K);
  drawGrid(g, d.gradNorm, d.n, box, (v) => viridis(v / hi));
  // the data, faintly, for orientation
  const m = mapper(d.frame, box);
  g.save();
  g.beginPath();
  g.rect(box.left, box.top, box.width, box.height);
  g.clip();
  g.fillStyle = 'rgba(255, 255, 255, 0.55)';
  for (let i = 0; i < Math.min(d.real.length, 512); i += 2)
    g.fillRect(m.x(d.real[i]) - 1, m.y(d.real[i + 1]) - 1, 2, 2);
  g.restore();
  axes(g, d.frame, box);
  colourBar(g, { left: box.left + box.width + 30, top: box.top, width: 14, height: box.height }, 0, hi, '‖∇ₓD(x)‖₂', [
    { value: d.K, text: `K=${d.K}` },
  ]);
  g.fillStyle = '#1d2733';
  g.textAlign = 'left';
  g.textBaseline = 'middle';
  const max = quantile(d.gradNorm, 1);
  g.fillText(
    `max ${max.toFixed(2)}, mean ${(d.gradNorm.reduce((a, b) => a + b, 0) / d.gradNorm.length).toFixed(2)} on the grid (white dots: data)`,
    box.left,
    12,
  );
}
