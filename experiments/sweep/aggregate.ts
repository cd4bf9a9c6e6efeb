// `sweep.ts aggregate DIR`: per setting (every grid key but the replicate key, e.g. seed), the
// mean ± sample standard deviation and count of every final metric of the finished runs, as
// <DIR>/aggregate/summary.md and aggregate.json, and one chart per metric of its curve over
// iterations (mean line, ±std band) as aggregate/curves_<metric>.png (+ .svg, .vl.json). With a
// reference setting (--compare reg=gp), a second table: each other setting's difference from it
// per metric with Welch's t and two-sided p.
import fs from 'node:fs';
import path from 'node:path';
import { typed, valueText, type Point, type Value } from './grid.js';
import { planRuns, runState, specFile } from './layout.js';
import type { SweepSpec } from './spec.js';
import { lineChartSpec, saveChart, type Series } from '../training/chart.js';
import { Metrics, writeJson } from '../training/run.js';
import { writeFileSafe } from '../training/files.js';
import { welch } from '../training/welch.js';

/** Per-row bookkeeping, kept in the JSON but left out of the table and the curves. */
export const BOOKKEEPING = ['step', 'seconds', 'rssMB', 'gpuMB', 'bindGroups', 'lr'];

export interface Stats {
  mean: number;
  /** sample standard deviation (n − 1); null for n < 2 */
  std: number | null;
  n: number;
  values: number[];
}

export interface SettingResult {
  label: string;
  setting: Point;
  runs: number;
  done: number;
  replicates: Value[];
  failed: { name: string; state: string; error: string }[];
  adapters: string[];
  metrics: Record<string, Stats>;
  /** with a reference setting: this setting's difference from it per metric (Welch) */
  vs?: { against: string; reference: string; metrics: Record<string, Comparison> };
}

/** mean(this) − mean(reference), Welch's t, its df and the two-sided p. */
export interface Comparison {
  delta: number;
  t: number;
  df: number;
  p: number;
}

export interface Aggregate {
  sweep: string;
  script: string;
  args: string[];
  grid: Record<string, Value[]>;
  replicate: string;
  /** grid keys with more than one value, other than the replicate key */
  varying: string[];
  settings: SettingResult[];
  table: string;
  json: string;
  curves: string[];
}

export function stats(values: number[]): Stats {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n >= 2 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null;
  return { mean, std, n, values };
}

/** `0.352 ± 0.041`: the std to two significant digits, the mean to the same decimals. */
export function formatStats(s: Stats | undefined): string {
  if (!s || !s.n || !Number.isFinite(s.mean)) return '–';
  const big = Math.abs(s.mean) >= 1e5;
  if (s.std === null || s.std === 0 || !Number.isFinite(s.std))
    return big ? s.mean.toExponential(2) : Number(s.mean.toPrecision(3)).toString() + (s.std === 0 ? ' ± 0' : '');
  if (big) return `${s.mean.toExponential(2)} ± ${s.std.toExponential(1)}`;
  const decimals = Math.min(6, Math.max(0, 1 - Math.floor(Math.log10(s.std))));
  return `${s.mean.toFixed(decimals)} ± ${s.std.toFixed(decimals)}`;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** A finished run's final metrics: summary.final (or the last metrics row), plus wallSeconds. */
function finalMetrics(dir: string, result: string): Record<string, number> {
  const summary = readJson<Record<string, unknown>>(path.join(dir, result)) ?? {};
  let final = summary.final as Record<string, unknown> | undefined;
  const metricsFile = path.join(dir, 'metrics.jsonl');
  if ((!final || !Object.keys(final).length) && fs.existsSync(metricsFile)) final = Metrics.read(metricsFile).at(-1);
  if (!final) final = summary;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(final)) if (typeof v === 'number') out[k] = v;
  if (typeof summary.wallSeconds === 'number') out.wallSeconds = summary.wallSeconds;
  return out;
}

export function readSweep(dir: string): SweepSpec {
  const spec = readJson<SweepSpec>(specFile(dir));
  if (!spec) throw new Error(`sweep: ${dir} has no sweep.json (not a sweep folder, or not started yet)`);
  return { ...spec, out: path.resolve(dir) };
}

export interface AggregateOptions {
  /** table columns (default: every final metric but BOOKKEEPING) */
  metrics?: string[];
  /** charts of the curves (default true) */
  curves?: boolean;
  /** `key=value`: the reference setting of the Welch tests */
  compare?: string;
}

/**
 * Each setting against the reference setting that equals it on every other varying key: Δ mean,
 * Welch's t and p per metric (where both have two or more finished runs).
 */
function compareSettings(settings: SettingResult[], varying: string[], compare: string): void {
  const eq = compare.indexOf('=');
  const key = compare.slice(0, eq);
  const value = compare.slice(eq + 1);
  if (eq <= 0 || !varying.includes(key))
    throw new Error(
      `aggregate --compare: expected key=value with a varying grid key (${varying.join(', ') || 'none varies'}), got '${compare}'`,
    );
  const values = [...new Set(settings.map((s) => valueText(s.setting[key])))];
  if (!values.includes(value))
    throw new Error(`aggregate --compare: ${key} takes ${values.join(', ')} in this sweep, got '${value}'`);
  const others = varying.filter((k) => k !== key);
  for (const s of settings) {
    if (valueText(s.setting[key]) === value) continue;
    const ref = settings.find(
      (r) =>
        valueText(r.setting[key]) === value && others.every((k) => valueText(r.setting[k]) === valueText(s.setting[k])),
    );
    if (!ref) continue;
    const metrics: Record<string, Comparison> = {};
    for (const [m, a] of Object.entries(s.metrics)) {
      const b = ref.metrics[m];
      if (!b || a.n < 2 || b.n < 2 || a.std === null || b.std === null) continue;
      const w = welch({ mean: a.mean, std: a.std, n: a.n }, { mean: b.mean, std: b.std, n: b.n });
      metrics[m] = { delta: a.mean - b.mean, ...w };
    }
    s.vs = { against: compare, reference: ref.label, metrics };
  }
}

/** `+0.052 (t 2.31, p 0.081)`; the difference to three significant digits. */
function formatComparison(c: Comparison | undefined): string {
  if (!c || !Number.isFinite(c.delta)) return '–';
  const d = Number(c.delta.toPrecision(3));
  const p = c.p < 0.001 ? c.p.toExponential(0) : c.p.toPrecision(2);
  return `${d >= 0 ? '+' : ''}${d} (t ${c.t.toFixed(2)}, p ${p})`;
}

export async function aggregate(dir: string, o: AggregateOptions = {}): Promise<Aggregate> {
  const spec = readSweep(dir);
  const runs = planRuns(spec);
  const rep = spec.replicate;
  const varying = Object.entries(spec.grid)
    .filter(([k, v]) => k !== rep && v.length > 1)
    .map(([k]) => k);
  const settingOf = (p: Point) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== rep));
  const labelOf = (p: Point) => varying.map((k) => `${k}=${valueText(p[k])}`).join(' ') || 'all';

  const groups = new Map<string, { setting: Point; runs: typeof runs }>();
  for (const r of runs) {
    const key = JSON.stringify(settingOf(r.point));
    if (!groups.has(key)) groups.set(key, { setting: settingOf(r.point), runs: [] });
    groups.get(key)!.runs.push(r);
  }

  const curveRows = new Map<string, Record<string, number>[][]>(); // label → rows of each finished run
  const settings: SettingResult[] = [];
  for (const g of groups.values()) {
    const label = labelOf(g.setting);
    const finals: Record<string, number>[] = [];
    const res: SettingResult = {
      label,
      setting: Object.fromEntries(Object.entries(g.setting).map(([k, v]) => [k, typed(v)])),
      runs: g.runs.length,
      done: 0,
      replicates: [],
      failed: [],
      adapters: [],
      metrics: {},
    };
    const rows: Record<string, number>[][] = [];
    for (const r of g.runs) {
      const { state, status } = runState(spec, r.dir);
      if (state !== 'done') {
        if (state !== 'pending') res.failed.push({ name: r.name, state, error: status?.error ?? '' });
        continue;
      }
      res.done++;
      if (rep in r.point) res.replicates.push(typed(r.point[rep]));
      finals.push(finalMetrics(r.dir, spec.result));
      const adapter = readJson<{ adapter?: string }>(path.join(r.dir, 'config.json'))?.adapter;
      if (adapter && !res.adapters.includes(adapter)) res.adapters.push(adapter);
      const mf = path.join(r.dir, 'metrics.jsonl');
      if (fs.existsSync(mf)) rows.push(Metrics.read(mf));
    }
    const keys = [...new Set(finals.flatMap((f) => Object.keys(f)))];
    for (const k of keys)
      res.metrics[k] = stats(finals.map((f) => f[k]).filter((v) => v !== undefined && Number.isFinite(v)));
    curveRows.set(label, rows);
    settings.push(res);
  }

  if (o.compare !== undefined) compareSettings(settings, varying, o.compare);
  const out = path.join(spec.out, 'aggregate');
  fs.mkdirSync(out, { recursive: true });
  const present = [...new Set(settings.flatMap((s) => Object.keys(s.metrics)))];
  const columns = o.metrics ?? present.filter((k) => !BOOKKEEPING.includes(k));
  const curves = o.curves === false ? [] : await drawCurves(spec, varying, settings, curveRows, columns, out);
  const table = path.join(out, 'summary.md');
  writeFileSafe(table, markdown(spec, varying, settings, columns, curves));
  const json = path.join(out, 'aggregate.json');
  const agg: Aggregate = {
    sweep: spec.out,
    script: spec.script,
    args: spec.args,
    grid: spec.grid,
    replicate: rep,
    varying,
    settings,
    table,
    json,
    curves,
  };
  writeJson(json, agg);
  return agg;
}

function markdown(
  spec: SweepSpec,
  varying: string[],
  settings: SettingResult[],
  columns: string[],
  curves: string[],
): string {
  const grid = Object.entries(spec.grid)
    .map(([k, v]) => `${k} = ${v.map(valueText).join(', ')}`)
    .join('; ');
  const lines = [
    `# Sweep ${path.basename(spec.out)}`,
    '',
    `\`${spec.script}${spec.args.length ? ' ' + spec.args.join(' ') : ''}\` over ${grid}.`,
    `Each cell: mean ± sample standard deviation (n − 1) of the final value over the finished runs (${spec.replicate}s); n = finished / all runs of the setting.`,
    '',
    `| ${[...(varying.length ? varying : ['setting']), 'n', ...columns].join(' | ')} |`,
    `|${[...(varying.length ? varying : ['setting']), 'n', ...columns].map(() => '---').join('|')}|`,
  ];
  for (const s of settings) {
    const keys = varying.length ? varying.map((k) => valueText(s.setting[k])) : [s.label];
    lines.push(`| ${[...keys, `${s.done}/${s.runs}`, ...columns.map((c) => formatStats(s.metrics[c]))].join(' | ')} |`);
  }
  const compared = settings.filter((s) => s.vs);
  if (compared.length) {
    lines.push(
      '',
      `Against ${compared[0].vs!.against} (with the same values of the other keys): mean difference, Welch's t and two-sided p; "–" where a side has fewer than 2 runs.`,
      '',
      `| ${['setting', 'vs', ...columns].join(' | ')} |`,
      `|${['setting', 'vs', ...columns].map(() => '---').join('|')}|`,
    );
    for (const s of compared)
      lines.push(
        `| ${[s.label, s.vs!.reference, ...columns.map((c) => formatComparison(s.vs!.metrics[c]))].join(' | ')} |`,
      );
  }
  const failed = settings.flatMap((s) => s.failed);
  if (failed.length) {
    lines.push('', 'Not finished:', '');
    for (const f of failed) lines.push(`- ${f.name}: ${f.state}${f.error ? ` — ${f.error}` : ''}`);
  }
  const adapters = [...new Set(settings.flatMap((s) => s.adapters))];
  if (adapters.length) lines.push('', `Adapter${adapters.length > 1 ? 's' : ''}: ${adapters.join('; ')}.`);
  if (curves.length) lines.push('', `Curves (mean, ±std band): ${curves.map((c) => path.basename(c)).join(', ')}.`);
  return lines.join('\n') + '\n';
}

/**
 * One chart per metric that has a curve (two or more logged steps): mean line and ±std band per
 * setting. With two or more varying keys, one chart per value of the first (curves_w1_dataset-8gaussians.png),
 * its series named by the others, so that no chart mixes scales or holds a dozen lines.
 */
async function drawCurves(
  spec: SweepSpec,
  varying: string[],
  settings: SettingResult[],
  rows: Map<string, Record<string, number>[][]>,
  columns: string[],
  out: string,
): Promise<string[]> {
  const panels = new Map<string, SettingResult[]>();
  for (const s of settings) {
    const key = varying.length >= 2 ? `${varying[0]}-${valueText(s.setting[varying[0]])}` : '';
    if (!panels.has(key)) panels.set(key, []);
    panels.get(key)!.push(s);
  }
  const seriesName = (s: SettingResult) =>
    varying.length >= 2
      ? varying
          .slice(1)
          .map((k) => `${k}=${valueText(s.setting[k])}`)
          .join(' ')
      : s.label;
  const files: string[] = [];
  for (const metric of columns) {
    for (const [panel, members] of panels) {
      const series: Series[] = [];
      for (const s of members) {
        const byStep = new Map<number, number[]>();
        for (const run of rows.get(s.label) ?? []) {
          for (const row of run) {
            const v = row[metric];
            if (typeof row.step !== 'number' || typeof v !== 'number' || !Number.isFinite(v)) continue;
            if (!byStep.has(row.step)) byStep.set(row.step, []);
            byStep.get(row.step)!.push(v);
          }
        }
        const steps = [...byStep.keys()].sort((a, b) => a - b);
        if (steps.length < 2) continue;
        const st = steps.map((x) => stats(byStep.get(x)!));
        series.push({ name: seriesName(s), x: steps, y: st.map((t) => t.mean), spread: st.map((t) => t.std ?? 0) });
      }
      const ys = series.flatMap((s) => Array.from(s.y));
      if (!series.length || ys.every((y) => y === ys[0])) continue; // nothing to see (e.g. modesTotal)
      const yLog = ys.every((y) => y > 0) && Math.max(...ys) / Math.min(...ys) > 100;
      const name = [metric, panel]
        .filter(Boolean)
        .join('_')
        .replace(/[^A-Za-z0-9_.-]/g, '_');
      const file = path.join(out, `curves_${name}.png`);
      const title = `${metric}${panel ? ` (${panel.replace('-', ' = ')})` : ''}: mean ± std over ${spec.replicate}s, ${path.basename(spec.out)}`;
      const chart = lineChartSpec(series, {
        title,
        xTitle: 'iteration',
        yTitle: metric + (yLog ? ' (log)' : ''),
        yLog,
      });
      files.push(await saveChart(chart, file));
    }
  }
  return files;
}
