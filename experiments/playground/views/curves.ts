/// <reference lib="dom" />
// Training curves in four small charts sharing the iteration axis: the critic's loss, its
// Wasserstein estimate, ‖∇D‖ at interpolates and the exact sample W1. Dashed verticals mark
// where a setting changed.
import { axes, COLORS, fmt, mapper, prepare, type Box } from './plot.js';

export interface Series {
  x: number[];
  y: number[];
}

export interface CurveData {
  loss: Series;
  wasserstein: Series;
  gradNormInterp: Series;
  w1: Series;
  /** iterations where a control changed, with what changed */
  events: { iter: number; text: string }[];
  K: number;
}

function chart(
  g: CanvasRenderingContext2D,
  b: Box,
  title: string,
  s: Series,
  xMax: number,
  color: string,
  events: CurveData['events'],
  opts: { ref?: { value: number; text: string }; labels?: boolean } = {},
): void {
  const ref = opts.ref;
  const ys = s.y.filter(Number.isFinite);
  let lo = Math.min(...ys, ref?.value ?? Infinity);
  let hi = Math.max(...ys, ref?.value ?? -Infinity);
  if (!ys.length) [lo, hi] = [0, 1];
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.08;
  const f = { xMin: 0, xMax: Math.max(1, xMax), yMin: lo - pad, yMax: hi + pad };
  axes(g, f, b, { gridLines: true, xTicks: 4, yTicks: 3 });
  const m = mapper(f, b);
  g.save();
  g.beginPath();
  g.rect(b.left, b.top, b.width, b.height);
  g.clip();
  g.strokeStyle = '#b0b7bf';
  g.setLineDash([3, 3]);
  for (const [i, e] of events.entries()) {
    g.beginPath();
    g.moveTo(m.x(e.iter) + 0.5, b.top);
    g.lineTo(m.x(e.iter) + 0.5, b.top + b.height);
    g.stroke();
    if (opts.labels) {
      g.fillStyle = COLORS.muted;
      g.textAlign = 'left';
      g.textBaseline = 'top';
      g.fillText(e.text, m.x(e.iter) + 3, b.top + 2 + (i % 3) * 13); // staggered: changes often come close together
    }
  }
  if (ref) {
    g.strokeStyle = COLORS.violation;
    g.beginPath();
    g.moveTo(b.left, m.y(ref.value));
    g.lineTo(b.left + b.width, m.y(ref.value));
    g.stroke();
  }
  g.setLineDash([]);
  g.strokeStyle = color;
  g.lineWidth = 1.4;
  g.beginPath();
  let pen = false;
  for (let i = 0; i < s.x.length; i++) {
    if (!Number.isFinite(s.y[i])) {
      pen = false;
      continue;
    }
    const [x, y] = [m.x(s.x[i]), m.y(s.y[i])];
    if (pen) g.lineTo(x, y);
    else g.moveTo(x, y);
    pen = true;
  }
  g.stroke();
  g.restore();
  g.fillStyle = COLORS.text;
  g.textAlign = 'left';
  g.textBaseline = 'bottom';
  const last = s.y.length ? s.y[s.y.length - 1] : NaN;
  g.fillText(`${title}: ${fmt(last)}`, b.left, b.top - 3);
  if (ref) {
    g.fillStyle = COLORS.violation;
    g.textAlign = 'right';
    g.fillText(ref.text, b.left + b.width, b.top - 3);
  }
}

export function drawCurves(canvas: HTMLCanvasElement, d: CurveData): void {
  const { g, width, height } = prepare(canvas);
  const xMax = Math.max(1, ...d.loss.x.slice(-1), ...d.w1.x.slice(-1));
  const cw = (width - 112) / 2;
  const ch = (height - 96) / 2;
  const at = (col: number, row: number): Box => ({
    left: 44 + col * (cw + 50),
    top: 20 + row * (ch + 40),
    width: cw,
    height: ch,
  });
  chart(g, at(0, 0), 'critic loss', d.loss, xMax, '#444c56', d.events, { labels: true });
  chart(g, at(1, 0), 'W estimate  E D(real) − E D(fake)', d.wasserstein, xMax, '#8e44ad', d.events);
  chart(g, at(0, 1), '‖∇D‖ at interpolates', d.gradNormInterp, xMax, '#16a085', d.events, {
    ref: { value: d.K, text: `K = ${d.K}` },
  });
  chart(g, at(1, 1), 'sample W1 (exact, 256 points)', d.w1, xMax, COLORS.fake, d.events);
  g.fillStyle = COLORS.muted;
  g.textAlign = 'center';
  g.textBaseline = 'bottom';
  g.fillText('generator iteration', width / 2, height - 1);
}
