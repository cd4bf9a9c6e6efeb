// Small plotting helpers on @napi-rs/canvas (PNG encoding included): scatter plots with
// contour lines, heat maps, line charts and labelled contact sheets.
import fs from 'node:fs';
import path from 'node:path';
import { createCanvas, loadImage, type SKRSContext2D, type Canvas } from '@napi-rs/canvas';

export type Color = string;

export interface Frame {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export function savePng(canvas: Canvas, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, canvas.toBuffer('image/png'));
  fs.renameSync(tmp, file);
}

/** Writes `<dir>/samples_<iter, 6 digits>.png` and `<dir>/samples.png` (the latest); returns the first. */
export function saveSamples(canvas: Canvas, dir: string, iter: number): string {
  const file = path.join(dir, `samples_${String(iter).padStart(6, '0')}.png`);
  savePng(canvas, file);
  savePng(canvas, path.join(dir, 'samples.png'));
  return file;
}

function toPx(f: Frame, size: number) {
  return {
    x: (x: number) => ((x - f.xMin) / (f.xMax - f.xMin)) * size,
    y: (y: number) => size - ((y - f.yMin) / (f.yMax - f.yMin)) * size,
  };
}

/** Grey-scale (or diverging) heat map of a grid of values, row 0 at the top. */
export function heatmap(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  opts: { lo?: number; hi?: number; scale?: number; title?: string } = {},
): Canvas {
  const lo = opts.lo ?? 0;
  const hi = opts.hi ?? 1;
  const scale = opts.scale ?? 2;
  const titleH = opts.title ? 18 : 0;
  const c = createCanvas(cols * scale, rows * scale + titleH);
  const g = c.getContext('2d');
  g.fillStyle = 'white';
  g.fillRect(0, 0, c.width, c.height);
  const img = g.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, (values[i] - lo) / (hi - lo))));
    img.data.set([v, v, v, 255], 4 * i);
  }
  const tmp = createCanvas(cols, rows);
  tmp.getContext('2d').putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, 0, titleH, cols * scale, rows * scale);
  if (opts.title) label(g, opts.title, 4, 13);
  return c;
}

export function label(g: SKRSContext2D, text: string, x: number, y: number, color = 'black', px = 12): void {
  g.fillStyle = color;
  g.font = `${px}px DejaVu Sans, sans-serif`;
  g.fillText(text, x, y);
}

/**
 * Contour lines of a scalar field sampled on an n×n grid over the frame (marching squares),
 * drawn at `levels` evenly spaced values.
 */
function contours(g: SKRSContext2D, field: ArrayLike<number>, n: number, f: Frame, size: number, levels = 12): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < field.length; i++) {
    lo = Math.min(lo, field[i]);
    hi = Math.max(hi, field[i]);
  }
  if (!(hi > lo)) return;
  const cell = size / (n - 1);
  const at = (i: number, j: number) => field[i * n + j]; // i: row (y from yMax down), j: column
  for (let l = 1; l < levels; l++) {
    const t = lo + ((hi - lo) * l) / levels;
    g.strokeStyle = `hsl(${220 - (200 * l) / levels}, 70%, 45%)`;
    g.lineWidth = 1;
    g.beginPath();
    for (let i = 0; i < n - 1; i++) {
      for (let j = 0; j < n - 1; j++) {
        const v = [at(i, j), at(i, j + 1), at(i + 1, j + 1), at(i + 1, j)];
        const p = [
          [j, i],
          [j + 1, i],
          [j + 1, i + 1],
          [j, i + 1],
        ];
        const pts: [number, number][] = [];
        for (let e = 0; e < 4; e++) {
          const a = v[e];
          const b = v[(e + 1) % 4];
          if (a < t !== b < t) {
            const s = (t - a) / (b - a);
            pts.push([(p[e][0] + s * (p[(e + 1) % 4][0] - p[e][0])) * cell, (p[e][1] + s * (p[(e + 1) % 4][1] - p[e][1])) * cell]);
          }
        }
        for (let k = 0; k + 1 < pts.length; k += 2) {
          g.moveTo(pts[k][0], pts[k][1]);
          g.lineTo(pts[k + 1][0], pts[k + 1][1]);
        }
      }
    }
    g.stroke();
  }
}

/**
 * 2-D samples over a square frame, optionally on top of a field's contour lines
 * (field[i*n + j] at x = xMin + j·dx, y = yMax - i·dy).
 */
export function scatter(
  sets: { points: ArrayLike<number>; color: Color; label: string }[],
  frame: Frame,
  opts: { size?: number; field?: { values: ArrayLike<number>; n: number }; title?: string } = {},
): Canvas {
  const size = opts.size ?? 480;
  const top = opts.title ? 20 : 0;
  const c = createCanvas(size, size + top);
  const g = c.getContext('2d');
  g.fillStyle = 'white';
  g.fillRect(0, 0, c.width, c.height);
  g.save();
  g.translate(0, top);
  if (opts.field) contours(g, opts.field.values, opts.field.n, frame, size);
  const px = toPx(frame, size);
  sets.forEach((s, k) => {
    g.fillStyle = s.color;
    for (let i = 0; i + 1 < s.points.length; i += 2) {
      g.fillRect(px.x(s.points[i]) - 1.5, px.y(s.points[i + 1]) - 1.5, 3, 3);
    }
    label(g, s.label, 8, 16 + 15 * k, s.color);
  });
  g.restore();
  if (opts.title) label(g, opts.title, 6, 14);
  return c;
}

/** Line chart of several named series against a shared x. */
export function lines(
  series: { name: string; x: number[]; y: number[] }[],
  opts: { width?: number; height?: number; title?: string; logY?: boolean } = {},
): Canvas {
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const pad = { l: 60, r: 10, t: 26, b: 30 };
  const c = createCanvas(W, H);
  const g = c.getContext('2d');
  g.fillStyle = 'white';
  g.fillRect(0, 0, W, H);
  const tf = (v: number) => (opts.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y.map(tf)).filter(Number.isFinite);
  if (!xs.length || !ys.length) return c;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (W - pad.l - pad.r);
  const Y = (y: number) => H - pad.b - ((tf(y) - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  g.strokeStyle = '#888';
  g.strokeRect(pad.l, pad.t, W - pad.l - pad.r, H - pad.t - pad.b);
  label(g, (opts.logY ? 10 ** y1 : y1).toPrecision(3), 2, pad.t + 10, '#444', 10);
  label(g, (opts.logY ? 10 ** y0 : y0).toPrecision(3), 2, H - pad.b, '#444', 10);
  label(g, String(x0), pad.l, H - 10, '#444', 10);
  label(g, String(x1), W - pad.r - 40, H - 10, '#444', 10);
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  series.forEach((s, k) => {
    g.strokeStyle = palette[k % palette.length];
    g.lineWidth = 1.5;
    g.beginPath();
    let started = false;
    s.x.forEach((x, i) => {
      if (!Number.isFinite(tf(s.y[i]))) return;
      if (!started) g.moveTo(X(x), Y(s.y[i]));
      else g.lineTo(X(x), Y(s.y[i]));
      started = true;
    });
    g.stroke();
    label(g, s.name, pad.l + 8 + 110 * (k % 5), pad.t - 8 + 0 * k, palette[k % palette.length], 11);
  });
  if (opts.title) label(g, opts.title, pad.l, 12, 'black', 12);
  return c;
}

/** Tiles PNG files (or canvases) into one labelled sheet. */
export async function contactSheet(items: { file: string; label: string }[], cols: number, cell = 220): Promise<Canvas> {
  const rows = Math.ceil(items.length / cols);
  const c = createCanvas(cols * cell, rows * (cell + 16));
  const g = c.getContext('2d');
  g.fillStyle = 'white';
  g.fillRect(0, 0, c.width, c.height);
  for (let k = 0; k < items.length; k++) {
    const img = await loadImage(fs.readFileSync(items[k].file));
    const x = (k % cols) * cell;
    const y = Math.floor(k / cols) * (cell + 16);
    const s = Math.min(cell / img.width, cell / img.height);
    g.drawImage(img, x, y + 16, img.width * s, img.height * s);
    label(g, items[k].label, x + 3, y + 12, 'black', 11);
  }
  return c;
}

/** A grid of images (values in [-1, 1], NCHW with C = 1 or 3) as one picture. */
export function imageGrid(data: Float32Array, n: number, c: number, h: number, w: number, cols: number, scale = 2): Canvas {
  const rows = Math.ceil(n / cols);
  const canvas = createCanvas(cols * (w + 1) * scale, rows * (h + 1) * scale);
  const g = canvas.getContext('2d');
  g.fillStyle = 'white';
  g.fillRect(0, 0, canvas.width, canvas.height);
  const img = g.createImageData(cols * (w + 1), rows * (h + 1));
  img.data.fill(255);
  for (let k = 0; k < n; k++) {
    const ox = (k % cols) * (w + 1);
    const oy = Math.floor(k / cols) * (h + 1);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = 4 * ((oy + y) * cols * (w + 1) + ox + x);
        for (let ch = 0; ch < 3; ch++) {
          const v = data[((k * c + (c === 3 ? ch : 0)) * h + y) * w + x];
          img.data[p + ch] = Math.round(255 * Math.min(1, Math.max(0, (v + 1) / 2)));
        }
      }
    }
  }
  const tmp = createCanvas(img.width, img.height);
  tmp.getContext('2d').putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  return canvas;
}
