// Experiment pictures. Charts (line charts with legends and bands, scatter plots over a field,
// heat maps, bar charts) are Vega-Lite specs rendered by ./chart.ts, so they get labelled axes,
// ticks, legends and colour bars, and keep their spec beside the PNG. Image grids and contact
// sheets, which compose pictures rather than plot data, are drawn with @napi-rs/canvas.
import fs from 'node:fs';
import path from 'node:path';
import { createCanvas, loadImage, type SKRSContext2D, type Canvas } from '@napi-rs/canvas';
import { writeFileSafe } from '../training/files.js';
import {
  heatmapSpec,
  lineChartSpec,
  saveChart,
  scatterSpec,
  type Frame,
  type GridField,
  type PointSet,
  type Series,
  type VegaLiteSpec,
} from '../training/chart.js';

export type { Frame, GridField, PointSet, Series };

export function savePng(canvas: Canvas, file: string): void {
  writeFileSafe(file, canvas.toBuffer('image/png'));
}

/** Writes `<dir>/<prefix>_<iter, 6 digits>.png` and `<dir>/<prefix>.png` (the latest); returns the first. */
export function saveSamples(canvas: Canvas, dir: string, iter: number, prefix = 'samples'): string {
  const file = path.join(dir, `${prefix}_${String(iter).padStart(6, '0')}.png`);
  savePng(canvas, file);
  savePng(canvas, path.join(dir, `${prefix}.png`));
  return file;
}

/** The chart version of saveSamples: <prefix>_<iter>.png (+ spec) and <prefix>.png (+ spec and SVG). */
export async function saveSampleChart(
  spec: VegaLiteSpec,
  dir: string,
  iter: number,
  prefix = 'samples',
): Promise<string> {
  const file = path.join(dir, `${prefix}_${String(iter).padStart(6, '0')}.png`);
  await saveChart(spec, file, { svg: false });
  await saveChart(spec, path.join(dir, `${prefix}.png`));
  return file;
}

export interface LineOptions {
  title: string;
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
}

/** Line chart of named series (a band where a series has a spread); writes PNG, SVG and spec. */
export function saveLines(file: string, series: Series[], o: LineOptions): Promise<string> {
  return saveChart(
    lineChartSpec(series, {
      title: o.title,
      xTitle: o.xTitle ?? 'iteration',
      yTitle: o.yTitle ?? 'value',
      yLog: o.logY,
    }),
    file,
  );
}

/** 2-D point sets over a frame, optionally over a field with its colour bar. */
export function saveScatter(
  file: string,
  sets: PointSet[],
  frame: Frame,
  o: { title: string; xTitle?: string; yTitle?: string; field?: GridField; legendOutside?: boolean; size?: number },
): Promise<string> {
  return saveChart(scatterSpec(sets, frame, o), file);
}

/** A scalar field on an n×n grid over a frame (row 0 at the top) as a heat map with a colour bar. */
export function saveHeatmap(
  file: string,
  values: ArrayLike<number>,
  n: number,
  frame: Frame,
  o: { title: string; colorTitle: string; domain?: [number, number]; xTitle?: string; yTitle?: string },
): Promise<string> {
  return saveChart(heatmapSpec(values, n, frame, o), file);
}

/** Bars (one per category, e.g. the mean over seeds) with the individual values as dots. */
export function saveBars(
  file: string,
  groups: { name: string; values: number[] }[],
  o: { title: string; yTitle: string },
): Promise<string> {
  const rows = groups.flatMap((g) => g.values.map((v) => ({ group: g.name, v })));
  const x = { field: 'group', type: 'nominal', title: null, sort: groups.map((g) => g.name), axis: { labelAngle: 0 } };
  return saveChart(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: o.title,
      width: Math.max(160, 110 * groups.length),
      height: 240,
      data: { values: rows },
      layer: [
        {
          mark: { type: 'bar', opacity: 0.75 },
          encoding: {
            x,
            y: { aggregate: 'mean', field: 'v', type: 'quantitative', title: o.yTitle },
            color: { field: 'group', type: 'nominal', legend: null },
          },
        },
        {
          mark: { type: 'circle', size: 40, color: 'black' },
          encoding: { x, y: { field: 'v', type: 'quantitative' } },
        },
      ],
    } as VegaLiteSpec,
    file,
  );
}

export function label(g: SKRSContext2D, text: string, x: number, y: number, color = 'black', px = 12): void {
  g.fillStyle = color;
  g.font = `${px}px DejaVu Sans, sans-serif`;
  g.fillText(text, x, y);
}

/** Splits text into lines no wider than `width` pixels in the context's font. */
function wrap(g: SKRSContext2D, text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (line && g.measureText(next).width > width) {
      out.push(line);
      line = word;
    } else line = next;
  }
  if (line) out.push(line);
  return out;
}

/** Tiles PNG files into one sheet, each under its label (wrapped to the cell, never cut off). */
export async function contactSheet(
  items: { file: string; label: string }[],
  cols: number,
  cell = 220,
): Promise<Canvas> {
  const rows = Math.ceil(items.length / cols);
  const px = 12;
  const measure = createCanvas(1, 1).getContext('2d');
  measure.font = `${px}px DejaVu Sans, sans-serif`;
  // pictures that carry their own titles come without labels (no second title above each)
  const labelled = items.some((it) => it.label);
  const labelLines = items.map((it) => (it.label ? wrap(measure, it.label, cell - 8) : []));
  const head = labelled ? (px + 3) * Math.max(1, ...labelLines.map((l) => l.length)) + 6 : 4;
  const images = await Promise.all(items.map((it) => loadImage(fs.readFileSync(it.file))));
  const c = createCanvas(cols * cell, rows * (cell + head));
  const g = c.getContext('2d');
  g.fillStyle = 'white';
  g.fillRect(0, 0, c.width, c.height);
  images.forEach((img, k) => {
    const x = (k % cols) * cell;
    const y = Math.floor(k / cols) * (cell + head);
    const s = Math.min(cell / img.width, cell / img.height);
    g.drawImage(img, x + (cell - img.width * s) / 2, y + head, img.width * s, img.height * s);
    labelLines[k].forEach((line, i) => label(g, line, x + 4, y + (px + 3) * (i + 1), 'black', px));
  });
  return c;
}

/** A grid of images (values in [-1, 1], NCHW with C = 1 or 3) as one picture. */
export function imageGrid(
  data: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  cols: number,
  scale = 2,
): Canvas {
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
