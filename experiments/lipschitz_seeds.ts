// A.4 over seeds: the runs of several `lipschitz_regression.ts --grid --seed s` folders side by
// side, mean ± sample std (n) of each metric per run name, and Welch tests of LP against ALP
// with the same λ and batch-norm setting (and of every run against the same setting's ALP k = 1).
//
//   npx tsx experiments/lipschitz_seeds.ts out/a4_16384 out/a4_16384_seed1 out/a4_16384_seed2
//
// Prints the tables and writes them to seeds.md in the first folder. Runs missing from a folder
// count as missing (n says how many seeds a cell has).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileSafe } from './training/files.js';
import { stat, welch, type Stat } from './training/welch.js';
import { gridConfigs, runName, type LrSummary } from './lipschitz_regression.js';

const METRICS = [
  ['maxGradNorm', 'max ‖∇f‖'],
  ['fracAbove105', 'frac ‖∇f‖ > 1.05'],
  ['mseOpt', 'MSE to f_opt'],
  ['gradNormErr', 'mean abs(‖∇f‖ − ‖∇f_opt‖)'],
] as const;
type Metric = (typeof METRICS)[number][0];

export interface SeedRow {
  name: string;
  label: string;
  seeds: number[];
  stats: Record<Metric, Stat>;
  values: Record<Metric, number[]>;
}

/** Every run name found in any of the folders, with its metrics over the folders that have it. */
export function seedRows(dirs: string[]): SeedRow[] {
  const byName = new Map<string, { label: string; seeds: number[]; values: Record<Metric, number[]> }>();
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) throw new Error(`lipschitz_seeds: no folder ${dir}`);
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name, 'summary.json');
      if (!fs.existsSync(file)) continue;
      const s = JSON.parse(fs.readFileSync(file, 'utf8')) as LrSummary;
      const row = byName.get(name) ?? {
        label: s.label,
        seeds: [],
        values: Object.fromEntries(METRICS.map(([m]) => [m, []])) as unknown as Record<Metric, number[]>,
      };
      row.seeds.push(s.options.seed);
      for (const [m] of METRICS) row.values[m].push(s.metrics[m]);
      byName.set(name, row);
    }
  }
  if (!byName.size) throw new Error(`lipschitz_seeds: no runs (<name>/summary.json) in ${dirs.join(', ')}`);
  // the grid's order (no BN, then BN; none, SN, LP, ALP), names outside it last
  const order = gridConfigs(false).map(runName);
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return [...byName]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([name, r]) => ({
      name,
      label: r.label,
      seeds: r.seeds,
      values: r.values,
      stats: Object.fromEntries(METRICS.map(([m]) => [m, stat(r.values[m])])) as Record<Metric, Stat>,
    }));
}

const f = (s: Stat, d: number) =>
  s.n > 1 ? `${s.mean.toFixed(d)} ± ${s.std.toFixed(d)} (${s.n})` : `${s.mean.toFixed(d)} (${s.n})`;
const digits: Record<Metric, number> = { maxGradNorm: 3, fracAbove105: 3, mseOpt: 4, gradNormErr: 4 };

/** The pairs the text compares: LP against ALP k = 1 at the same λ and BN setting. */
function pairs(rows: SeedRow[]): [SeedRow, SeedRow][] {
  const out: [SeedRow, SeedRow][] = [];
  for (const a of rows) {
    const m = /^(bn|nobn)_lp_l(.+)$/.exec(a.name);
    if (!m) continue;
    const b = rows.find((r) => r.name === `${m[1]}_alp_l${m[2]}_k1`);
    if (b) out.push([a, b]);
  }
  return out;
}

export function seedTables(rows: SeedRow[]): string {
  const lines = [
    `| run | seeds | ${METRICS.map(([, t]) => t).join(' | ')} |`,
    `|---|---|${METRICS.map(() => '---|').join('')}`,
  ];
  for (const r of rows)
    lines.push(
      `| ${r.label} | ${r.seeds.join(', ')} | ${METRICS.map(([m]) => f(r.stats[m], digits[m])).join(' | ')} |`,
    );
  const ps = pairs(rows).filter(([a, b]) => a.seeds.length > 1 && b.seeds.length > 1);
  if (ps.length) {
    lines.push('', 'Welch tests, LP − ALP k=1 (same λ and BN):', '');
    lines.push(
      `| LP vs ALP | ${METRICS.map(([, t]) => t).join(' | ')} |`,
      `|---|${METRICS.map(() => '---|').join('')}`,
    );
    for (const [a, b] of ps) {
      const cells = METRICS.map(([m]) => {
        const w = welch(a.stats[m], b.stats[m]);
        return Number.isFinite(w.t) ? `t ${w.t.toFixed(2)}, p ${w.p < 1e-4 ? '< 1e-4' : w.p.toPrecision(2)}` : '–';
      });
      lines.push(`| ${a.label} vs ${b.label} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n') + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dirs = process.argv.slice(2);
  if (!dirs.length) {
    console.error('usage: npx tsx experiments/lipschitz_seeds.ts <grid folder> [<grid folder> ...]');
    process.exit(1);
  }
  try {
    const md = seedTables(seedRows(dirs));
    writeFileSafe(path.join(dirs[0], 'seeds.md'), md);
    console.log(md);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
