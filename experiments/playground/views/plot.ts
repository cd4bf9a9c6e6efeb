/// <reference lib="dom" />
// Small canvas-2D helpers shared by the views: a data frame mapped onto a plot box, axes with
// ticks, a perceptual colour map and its colour bar, and contour lines by marching squares.

export interface Frame {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Where the data go on the canvas, in CSS pixels. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export const COLORS = {
  real: '#e07b00',
  fake: '#1f5fbf',
  violation: '#d62728',
  ok: '#7f8c99',
  grid: '#e4e7eb',
  text: '#1d2733',
  muted: '#5b6775',
};
export const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Sizes the canvas's backing store for the screen's pixel ratio; returns a context in CSS pixels. */
export function prepare(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; width: number; height: number } {
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = FONT;
  return { g, width, height };
}

export function mapper(f: Frame, b: Box) {
  return {
    x: (x: number) => b.left + ((x - f.xMin) / (f.xMax - f.xMin)) * b.width,
    y: (y: number) => b.top + b.height - ((y - f.yMin) / (f.yMax - f.yMin)) * b.height,
  };
}

/** Round tick values covering [lo, hi] (about `count` of them). */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** A frame around the box with ticks on the left and bottom. */
export function axes(
  g: CanvasRenderingContext2D,
  f: Frame,
  b: Box,
  opts: { xTicks?: number; yTicks?: number; gridLines?: boolean } = {},
): void {
  const m = mapper(f, b);
  g.save();
  g.strokeStyle = '#9aa4ae';
  g.lineWidth = 1;
  g.strokeRect(b.left + 0.5, b.top + 0.5, b.width, b.height);
  g.fillStyle = COLORS.muted;
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const t of ticks(f.xMin, f.xMax, opts.xTicks ?? 6)) {
    const x = m.x(t);
    g.fillRect(x, b.top + b.height, 1, 4);
    g.fillText(fmt(t), x, b.top + b.height + 5);
  }
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const t of ticks(f.yMin, f.yMax, opts.yTicks ?? 6)) {
    const y = m.y(t);
    if (opts.gridLines) {
      g.fillStyle = COLORS.grid;
      g.fillRect(b.left + 1, y, b.width - 1, 1);
      g.fillStyle = COLORS.muted;
    }
    g.fillRect(b.left - 4, y, 4, 1);
    g.fillText(fmt(t), b.left - 6, y);
  }
  g.restore();
}

// viridis, sampled at 9 stops and interpolated linearly (close enough for a heat map)
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** viridis at t in [0, 1] as [r, g, b]. */
export function viridis(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const w = u - i;
  const a = VIRIDIS[i];
  const c = VIRIDIS[i + 1];
  return [a[0] + (c[0] - a[0]) * w, a[1] + (c[1] - a[1]) * w, a[2] + (c[2] - a[2]) * w];
}

/** Draws a row-major n×n grid (row 0 at the top) into the box, colours from `color`. */
export function drawGrid(
  g: CanvasRenderingContext2D,
  values: ArrayLike<number>,
  n: number,
  b: Box,
  color: (v: number) => [number, number, number],
): void {
  const img = new ImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const [r, gg, bb] = color(values[i]);
    img.data[4 * i] = r;
    img.data[4 * i + 1] = gg;
    img.data[4 * i + 2] = bb;
    img.data[4 * i + 3] = 255;
  }
  const tmp = document.createElement('canvas');
  tmp.width = n;
  tmp.height = n;
  tmp.getContext('2d')!.putImageData(img, 0, 0);
  g.save();
  g.imageSmoothingEnabled = true;
  g.drawImage(tmp, b.left, b.top, b.width, b.height);
  g.restore();
}

/**
 * A vertical colour bar over [lo, hi] (`colour` of t in [0, 1], default viridis), with tick labels
 * and optional marked values.
 */
export function colourBar(
  g: CanvasRenderingContext2D,
  b: Box,
  lo: number,
  hi: number,
  label: string,
  marks: { value: number; text: string }[] = [],
  colour: (t: number) => [number, number, number] = viridis,
): void {
  const steps = 64;
  for (let i = 0; i < steps; i++) {
    const [r, gg, bb] = colour(1 - i / (steps - 1));
    g.fillStyle = `rgb(${r | 0},${gg | 0},${bb | 0})`;
    g.fillRect(b.left, b.top + (i * b.height) / steps, b.width, b.height / steps + 1);
  }
  g.strokeStyle = '#9aa4ae';
  g.strokeRect(b.left + 0.5, b.top + 0.5, b.width, b.height);
  const y = (v: number) => b.top + b.height - ((v - lo) / (hi - lo)) * b.height;
  g.fillStyle = COLORS.muted;
  g.textAlign = 'left';
  g.textBaseline = 'middle';
  for (const t of ticks(lo, hi, 5)) {
    g.fillRect(b.left + b.width, y(t), 4, 1);
    g.fillText(fmt(t), b.left + b.width + 6, y(t));
  }
  for (const m of marks) {
    if (m.value < lo || m.value > hi) continue;
    g.fillStyle = '#ffffff';
    g.fillRect(b.left - 3, y(m.value) - 1, b.width + 6, 2);
    g.fillStyle = COLORS.text;
    g.textAlign = 'right';
    g.fillText(m.text, b.left - 5, y(m.value));
  }
  g.save();
  g.translate(b.left + b.width + 46, b.top + b.height / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillStyle = COLORS.text;
  g.fillText(label, 0, 0);
  g.restore();
}

/**
 * Contour segments of a row-major n×n grid (row 0 at the top) at `level`, in grid coordinates
 * (column, row) as [x0, y0, x1, y1, ...]: marching squares, saddles split by the centre value.
 */
export function contourSegments(v: ArrayLike<number>, n: number, level: number): number[] {
  const out: number[] = [];
  const at = (i: number, j: number) => v[i * n + j];
  const lerp = (a: number, b: number) => (level - a) / (b - a);
  for (let i = 0; i + 1 < n; i++) {
    for (let j = 0; j + 1 < n; j++) {
      const a = at(i, j),
        b = at(i, j + 1),
        c = at(i + 1, j + 1),
        d = at(i + 1, j);
      const code = (a > level ? 8 : 0) | (b > level ? 4 : 0) | (c > level ? 2 : 0) | (d > level ? 1 : 0);
      if (code === 0 || code === 15) continue;
      // edge points: top (a-b), right (b-c), bottom (d-c), left (a-d)
      const top = [j + lerp(a, b), i];
      const right = [j + 1, i + lerp(b, c)];
      const bottom = [j + lerp(d, c), i + 1];
      const left = [j, i + lerp(a, d)];
      const seg = (p: number[], q: number[]) => out.push(p[0], p[1], q[0], q[1]);
      const centreAbove = (a + b + c + d) / 4 > level;
      switch (code) {
        case 1:
        case 14:
          seg(left, bottom);
          break;
        case 2:
        case 13:
          seg(bottom, right);
          break;
        case 3:
        case 12:
          seg(left, right);
          break;
        case 4:
        case 11:
          seg(top, right);
          break;
        case 6:
        case 9:
          seg(top, bottom);
          break;
        case 7:
        case 8:
          seg(left, top);
          break;
        case 5:
          if (centreAbove) {
            seg(left, top);
            seg(bottom, right);
          } else {
            seg(left, bottom);
            seg(top, right);
          }
          break;
        case 10:
          if (centreAbove) {
            seg(top, right);
            seg(left, bottom);
          } else {
            seg(left, top);
            seg(bottom, right);
          }
          break;
      }
    }
  }
  return out;
}

/** A legend of coloured markers in a row, starting at (x, y). */
export function legend(
  g: CanvasRenderingContext2D,
  x: number,
  y: number,
  items: { color: string; text: string; line?: boolean }[],
): void {
  g.save();
  g.textAlign = 'left';
  g.textBaseline = 'middle';
  let cx = x;
  for (const it of items) {
    g.fillStyle = it.color;
    g.strokeStyle = it.color;
    if (it.line) {
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(cx, y);
      g.lineTo(cx + 14, y);
      g.stroke();
      cx += 18;
    } else {
      g.beginPath();
      g.arc(cx + 4, y, 4, 0, 2 * Math.PI);
      g.fill();
      cx += 12;
    }
    g.fillStyle = COLORS.text;
    g.fillText(it.text, cx, y);
    cx += g.measureText(it.text).width + 14;
  }
  g.restore();
}

/** The value below which a fraction q of the finite values lie. */
export function quantile(v: ArrayLike<number>, q: number): number {
  const a = Array.from(v)
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  if (!a.length) return NaN;
  return a[Math.min(a.length - 1, Math.max(0, Math.floor(q * (a.length - 1))))];
}
