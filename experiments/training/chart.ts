// Charts for experiment outputs: a Vega-Lite spec (data inline) is compiled by vega-lite,
// rendered to SVG by vega's headless view and rasterised by resvg. Every chart is written as
// three files side by side: NAME.vl.json (the spec, re-renderable in any Vega tool), NAME.svg
// and NAME.png. Vega-Lite gives labelled axes, ticks, legends and colour bars without a line of
// layout code; resvg renders the SVG with the system's fonts and no browser.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileSafe } from './files.js';
import { createRequire } from 'node:module';
import type * as vl from 'vega-lite';

// vega, vega-lite and @resvg/resvg-js are optional peer dependencies of alr-webgpu/training,
// loaded when the first chart is drawn.
const require = createRequire(import.meta.url);

export type VegaLiteSpec = vl.TopLevelSpec;

const FONT = 'DejaVu Sans';

/** House style: white background, readable fonts, no chart border. */
const CONFIG = {
  background: 'white',
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400 },
  title: { fontSize: 14, anchor: 'start' as const, offset: 8 },
};

const writeAtomic = (file: string, data: string | Buffer): void => writeFileSafe(file, data);

/** Renders `spec` to SVG text. */
export async function chartSvg(spec: VegaLiteSpec): Promise<string> {
  const own = (spec.config ?? {}) as Record<string, object>;
  const full = {
    ...spec,
    config: { ...CONFIG, ...own, axis: { ...CONFIG.axis, ...(own.axis ?? {}) } },
  } as VegaLiteSpec;
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(full).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises SVG text to PNG bytes at `scale` (2 = crisp on high-density screens and in papers). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
    background: 'white',
  });
  return resvg.render().asPng();
}

/**
 * Writes `file` (a .png path) plus its .svg and .vl.json siblings; returns the PNG path.
 * The writes are atomic, so a reader never sees half a picture.
 */
export async function saveChart(spec: VegaLiteSpec, file: string, o: { svg?: boolean } = {}): Promise<string> {
  const base = file.replace(/\.png$/, '');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const svg = await chartSvg(spec);
  writeAtomic(`${base}.vl.json`, `${JSON.stringify(spec)}\n`);
  if (o.svg !== false) writeAtomic(`${base}.svg`, svg);
  writeAtomic(`${base}.png`, svgToPng(svg));
  return `${base}.png`;
}

/** Four significant digits: enough for a picture, and a spec a tenth the size. */
const r4 = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(4)) : v);

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** half-width of a band around y (e.g. one standard deviation across seeds) */
  spread?: ArrayLike<number>;
}

export interface LineChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  yLog?: boolean;
  width?: number;
  height?: number;
}

/** Lines with a legend, and a shaded band where a series has a spread. */
export function lineChartSpec(series: Series[], o: LineChartOptions): VegaLiteSpec {
  const rows: Record<string, number | string>[] = [];
  for (const s of series) {
    // a quantity that is never negative (a count, a norm, a distance) gets no band below zero
    const nonNegative = Array.from(s.y).every((y) => !Number.isFinite(y) || y >= 0);
    for (let i = 0; i < s.x.length; i++) {
      const y = s.y[i];
      if (!Number.isFinite(y) || (o.yLog && y <= 0)) continue;
      const row: Record<string, number | string> = { series: s.name, x: s.x[i], y };
      if (s.spread) {
        const lo = y - s.spread[i];
        row.lo = o.yLog ? Math.max(lo, y * 1e-3) : nonNegative ? Math.max(lo, 0) : lo;
        row.hi = y + s.spread[i];
      }
      rows.push(row);
    }
  }
  const scale = o.yLog ? { type: 'log' as const } : { zero: false };
  // the legend draws line symbols whichever layer Vega-Lite takes them from
  const color = {
    field: 'series',
    type: 'nominal' as const,
    title: null,
    sort: series.map((s) => s.name),
    legend: { symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolOpacity: 1 },
  };
  // iterations, k, seeds: whole numbers get whole-number ticks
  const integral = series.every((s) => Array.from(s.x).every((v) => Number.isInteger(v)));
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: o.xTitle,
    ...(integral ? { axis: { format: 'd', tickMinStep: 1 } } : {}),
  };
  // few points per series (a sweep over k, a short run): mark each one
  const sparse = series.every((s) => s.x.length <= 25);
  const layers: object[] = [];
  if (series.some((s) => s.spread)) {
    // bands under the lines, so each line keeps its legend colour
    layers.push({
      mark: { type: 'area', opacity: 0.22 },
      encoding: { x, y: { field: 'lo', type: 'quantitative', scale }, y2: { field: 'hi' }, color },
    });
  }
  layers.push({
    mark: { type: 'line', strokeWidth: 1.8, ...(sparse ? { point: { size: 30 } } : {}) },
    encoding: { x, y: { field: 'y', type: 'quantitative', title: o.yTitle, scale }, color },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 420,
    height: o.height ?? 260,
    data: { values: rows },
    layer: layers,
  } as VegaLiteSpec;
}

/** Quantitative axis over [lo, hi] with a title, no padding beyond the data's frame. */
const axisOver = (field: string, title: string, lo: number, hi: number) => ({
  field,
  type: 'quantitative' as const,
  title,
  scale: { domain: [lo, hi], nice: false, zero: false },
});

export interface Frame {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** A field sampled on an n×n grid over a frame: values[i·n + j] at x = xMin + j·dx, y = yMax − i·dy. */
export interface GridField {
  values: ArrayLike<number>;
  n: number;
  /** colour-bar title, e.g. 'D(x)' */
  title: string;
  /** colour range; default the field's own min and max */
  domain?: [number, number];
  /** a diverging scheme's centre (e.g. 0 for a decision boundary) */
  mid?: number;
  scheme?: string;
}

/** The grid as rectangles (at most `maxCells` per side, averaged down), one row each. */
function fieldRows(f: GridField, frame: Frame, maxCells = 48): Record<string, number>[] {
  const step = Math.max(1, Math.ceil(f.n / maxCells));
  const cells = Math.floor(f.n / step);
  const dx = (frame.xMax - frame.xMin) / cells;
  const dy = (frame.yMax - frame.yMin) / cells;
  const rows: Record<string, number>[] = [];
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      let s = 0;
      for (let a = 0; a < step; a++) for (let b = 0; b < step; b++) s += f.values[(i * step + a) * f.n + j * step + b];
      const x = frame.xMin + j * dx;
      const y = frame.yMax - (i + 1) * dy;
      // cells overlap by a tenth (over a pixel at the usual sizes) so the rasteriser's
      // anti-aliased edges leave no seams between them; the layer is clipped to the frame
      rows.push({
        x: r4(x),
        x2: r4(Math.min(frame.xMax, x + 1.1 * dx)),
        y: r4(Math.max(frame.yMin, y - 0.1 * dy)),
        y2: r4(y + dy),
        v: r4(s / (step * step)),
      });
    }
  }
  return rows;
}

function fieldLayer(f: GridField, frame: Frame, xTitle: string, yTitle: string): object {
  return {
    data: { values: fieldRows(f, frame) },
    mark: { type: 'rect', stroke: null, clip: true },
    encoding: {
      x: axisOver('x', xTitle, frame.xMin, frame.xMax),
      x2: { field: 'x2' },
      y: axisOver('y', yTitle, frame.yMin, frame.yMax),
      y2: { field: 'y2' },
      color: {
        field: 'v',
        type: 'quantitative',
        title: f.title,
        scale: {
          scheme: f.scheme ?? 'blues',
          clamp: true,
          ...(f.domain ? { domain: f.domain } : {}),
          ...(f.mid !== undefined ? { domainMid: f.mid } : {}),
        },
        legend: { orient: 'right', gradientLength: 200 },
      },
    },
  };
}

export interface PointSet {
  name: string;
  /** interleaved x, y */
  points: ArrayLike<number>;
  color: string;
}

/** 2-D point sets (legend by name) over a frame, optionally on top of a field with its colour bar. */
export function scatterSpec(
  sets: PointSet[],
  frame: Frame,
  o: {
    title: string;
    xTitle?: string;
    yTitle?: string;
    field?: GridField;
    size?: number;
    pointSize?: number;
    legendOutside?: boolean;
  },
): VegaLiteSpec {
  const xTitle = o.xTitle ?? 'x₁';
  const yTitle = o.yTitle ?? 'x₂';
  const rows: Record<string, number | string>[] = [];
  for (const s of sets) {
    for (let i = 0; i + 1 < s.points.length; i += 2) {
      const [x, y] = [s.points[i], s.points[i + 1]];
      // points outside the frame are drawn on its edge: a user should see that they exist
      rows.push({
        set: s.name,
        x: r4(Math.min(frame.xMax, Math.max(frame.xMin, x))),
        y: r4(Math.min(frame.yMax, Math.max(frame.yMin, y))),
      });
    }
  }
  const layers: object[] = [];
  if (o.field) layers.push(fieldLayer(o.field, frame, xTitle, yTitle));
  const config = o.field ? { axis: { grid: false } } : {};
  layers.push({
    data: { values: rows },
    mark: { type: 'circle', size: o.pointSize ?? 10, opacity: 0.8 },
    encoding: {
      x: axisOver('x', xTitle, frame.xMin, frame.xMax),
      y: axisOver('y', yTitle, frame.yMin, frame.yMax),
      color: {
        field: 'set',
        type: 'nominal',
        title: null,
        scale: { domain: sets.map((s) => s.name), range: sets.map((s) => s.color) },
        legend: o.legendOutside
          ? { orient: 'bottom', direction: 'vertical', symbolOpacity: 1 }
          : { orient: 'top-left', fillColor: 'white', padding: 4, symbolOpacity: 1 },
      },
    },
  });
  return square(o.title, o.size ?? 380, { layer: layers, resolve: { scale: { color: 'independent' } }, config });
}

/** A square chart: title, side length, and the rest of the spec. */
const square = (title: string, size: number, rest: object): VegaLiteSpec =>
  ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: size,
    height: size,
    ...rest,
  }) as VegaLiteSpec;

/** A grid of values (row 0 at the top of the frame) as a heat map with a colour bar. */
export function heatmapSpec(
  values: ArrayLike<number>,
  n: number,
  frame: Frame,
  o: {
    title: string;
    colorTitle: string;
    domain?: [number, number];
    scheme?: string;
    xTitle?: string;
    yTitle?: string;
    size?: number;
  },
): VegaLiteSpec {
  const field = fieldLayer(
    { values, n, title: o.colorTitle, domain: o.domain, scheme: o.scheme ?? 'viridis' },
    frame,
    o.xTitle ?? 'x₁',
    o.yTitle ?? 'x₂',
  );
  return square(o.title, o.size ?? 260, { ...field, config: { axis: { grid: false } } });
}
