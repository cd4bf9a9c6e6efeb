/// <reference lib="dom" />
// Real and generated samples over the critic's contour lines (the critic scores reals high, so
// the generator climbs toward the warm colours).
import {
  axes,
  colourBar,
  COLORS,
  contourSegments,
  drawGrid,
  legend,
  mapper,
  prepare,
  quantile,
  type Frame,
} from './plot.js';

/** A diverging map: blue (low D) through white to orange (high D), for t in [0, 1]. */
function diverging(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5));
  const lo = [120, 160, 215];
  const hi = [240, 180, 120];
  const w = Math.abs(u - 0.5) * 2;
  const c = u < 0.5 ? lo : hi;
  return [255 + (c[0] - 255) * w * 0.8, 255 + (c[1] - 255) * w * 0.8, 255 + (c[2] - 255) * w * 0.8];
}

export function drawSamples(
  canvas: HTMLCanvasElement,
  d: { real: Float32Array; fake: Float32Array; field: Float32Array; n: number; frame: Frame },
): void {
  const { g, width, height } = prepare(canvas);
  const size = Math.min(width - 140, height - 50);
  const box = { left: 40, top: 26, width: size, height: size };
  const lo = quantile(d.field, 0.02);
  const hi = quantile(d.field, 0.98);
  const span = hi - lo || 1;
  drawGrid(g, d.field, d.n, box, (v) => diverging((v - lo) / span));
  // 12 contour levels between the 2nd and 98th percentiles of D on the lattice
  g.save();
  g.beginPath();
  g.rect(box.left, box.top, box.width, box.height);
  g.clip();
  g.strokeStyle = 'rgba(40, 50, 60, 0.45)';
  g.lineWidth = 1;
  const sx = box.width / (d.n - 1);
  const sy = box.height / (d.n - 1);
  g.beginPath();
  for (let l = 1; l <= 12; l++) {
    const seg = contourSegments(d.field, d.n, lo + (span * l) / 13);
    for (let i = 0; i < seg.length; i += 4) {
      g.moveTo(box.left + seg[i] * sx, box.top + seg[i + 1] * sy);
      g.lineTo(box.left + seg[i + 2] * sx, box.top + seg[i + 3] * sy);
    }
  }
  g.stroke();
  const m = mapper(d.frame, box);
  const dots = (pts: Float32Array, color: string) => {
    g.fillStyle = color;
    for (let i = 0; i < pts.length; i += 2) g.fillRect(m.x(pts[i]) - 1.5, m.y(pts[i + 1]) - 1.5, 3, 3);
  };
  dots(d.real, COLORS.real);
  dots(d.fake, COLORS.fake);
  g.restore();
  axes(g, d.frame, box);
  // the bar spans the colour scale's range (2nd to 98th percentile of D on the lattice)
  colourBar(
    g,
    { left: box.left + box.width + 30, top: box.top, width: 14, height: box.height },
    lo,
    hi,
    'critic D(x)',
    [],
    diverging,
  );
  legend(g, box.left, 12, [
    { color: COLORS.real, text: 'data' },
    { color: COLORS.fake, text: 'generated' },
    { color: 'rgba(40,50,60,0.6)', text: 'contours of D', line: true },
  ]);
}
