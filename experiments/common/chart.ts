// Charts for experiment outputs: a Vega-Lite spec (data inline) is compiled by vega-lite,
// rendered to SVG by vega's headless view and rasterised by resvg. Every chart is written as
// three files side by side: NAME.vl.json (the spec, re-renderable in any Vega tool), NAME.svg
// and NAME.png. Vega-Lite gives labelled axes, ticks, legends and colour bars without a line of
// layout code; resvg renders the SVG with the system's fonts and no browser.
import fs from 'node:fs';
import path from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

export type VegaLiteSpec = vl.TopLevelSpec;

const FONT = 'DejaVu Sans';

/** House style: white background, readable fonts, no chart border. */
const CONFIG = {
  background: 'white',
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, offset: 8 },
};

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** Renders `spec` to SVG text. */
export async function chartSvg(spec: VegaLiteSpec): Promise<string> {
  const full = { ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as VegaLiteSpec;
  const compiled = vl.compile(full).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises SVG text to PNG bytes at `scale` (2 = crisp on high-density screens and in papers). */
export function svgToPng(svg: string, scale = 2): Buffer {
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
export async function saveChart(spec: VegaLiteSpec, file: string): Promise<string> {
  const base = file.replace(/\.png$/, '');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const svg = await chartSvg(spec);
  writeAtomic(`${base}.vl.json`, `${JSON.stringify(spec, null, 1)}\n`);
  writeAtomic(`${base}.svg`, svg);
  writeAtomic(`${base}.png`, svgToPng(svg));
  return `${base}.png`;
}

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
    for (let i = 0; i < s.x.length; i++) {
      const y = s.y[i];
      if (!Number.isFinite(y) || (o.yLog && y <= 0)) continue;
      const row: Record<string, number | string> = { series: s.name, x: s.x[i], y };
      if (s.spread) {
        row.lo = o.yLog ? Math.max(y - s.spread[i], y * 1e-3) : y - s.spread[i];
        row.hi = y + s.spread[i];
      }
      rows.push(row);
    }
  }
  const scale = o.yLog ? { type: 'log' as const } : { zero: false };
  const color = { field: 'series', type: 'nominal' as const, title: null, sort: series.map((s) => s.name) };
  const x = { field: 'x', type: 'quantitative' as const, title: o.xTitle };
  const layers: object[] = [];
  if (series.some((s) => s.spread)) {
    layers.push({
      mark: { type: 'area', opacity: 0.22 },
      encoding: { x, y: { field: 'lo', type: 'quantitative', scale }, y2: { field: 'hi' }, color },
    });
  }
  layers.push({
    mark: { type: 'line', strokeWidth: 1.8 },
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
