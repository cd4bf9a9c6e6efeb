// All Lipschitz regularisers of the toy WGAN on one dataset, side by side: each run goes to
// <out>/<reg>/ (experiments/toy_wgan.ts), then the comparison is written to <out>/:
//   curves_w1.png, curves_wasserstein.png, curves_gradnorm.png, curves_violations.png
//   (one line per regulariser), samples_sheet.png (final sample pictures), summary.md.
//
//   npx tsx experiments/toy_compare.ts --dataset 8gaussians --iters 500 --out out/toy_compare
//
// Finished runs (summary.json present) are skipped, so an interrupted comparison resumes.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  REGULARISERS,
  runToyWgan,
  toyCli,
  toyOptions,
  type Regulariser,
  type ToyWganOptions,
  type ToyWganSummary,
} from './toy_wgan.js';
import { contactSheet, saveLines, savePng } from './common/plot.js';
import { ensureDir, main, Metrics, writeConfig } from './training/run.js';
import { writeFileSafe } from './training/files.js';

export const COMPARED: Regulariser[] = ['alp', 'gp', 'lp', 'sn', 'none'];
const PENALISED: Regulariser[] = ['alp', 'gp', 'lp'];

export const CURVES = [
  { key: 'w1', file: 'curves_w1.png', title: 'sample W1 (exact, 256 vs 256) vs generator iteration' },
  { key: 'wasserstein', file: 'curves_wasserstein.png', title: 'critic W estimate mean D(real) − mean D(fake)' },
  { key: 'gradNormInterp', file: 'curves_gradnorm.png', title: '‖∇D‖ at real/fake interpolates' },
  { key: 'probeViolations', file: 'curves_violations.png', title: 'ALP probe violations (of 512 samples)' },
] as const;

export interface CompareResult {
  summaries: ToyWganSummary[];
  curves: string[];
  sheet: string;
  table: string;
}

const cell = (v: number | undefined, d = 4) =>
  v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 1000 ? v.toExponential(2) : v.toFixed(d);

export function compareTable(base: ToyWganOptions, rows: ToyWganSummary[]): string {
  const out = [
    `# Toy WGAN comparison: ${base.dataset}, ${base.iters} generator iterations, ${base.criticIters} critic steps, batch ${base.batch}, dim ${base.dim}, seed ${base.seed}`,
    '',
    `λ: ALP ${rows.find((r) => r.reg === 'alp')?.lambda ?? '–'} (k = ${base.k}, ξ = ${base.xi}, ε ~ U[${base.epsMin}, ${base.epsMax}]), GP/LP ${rows.find((r) => r.reg === 'gp')?.lambda ?? '–'}. Metrics at the last evaluation.`,
    '',
    '| reg | W1 (samples) | critic W | ‖∇D‖ interp | probe violations | probe ratio | train violations | modes covered | wall s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of rows) {
    const f = s.final;
    const modes = f.modesTotal !== undefined ? `${f.modesCovered}/${f.modesTotal}` : '–';
    out.push(
      `| ${s.reg} | ${cell(f.w1)} | ${cell(f.wasserstein)} | ${cell(f.gradNormInterp, 3)} | ${cell(f.probeViolations, 0)} | ${cell(f.probeRatioMean, 3)} | ${cell(f.violations, 1)} | ${modes} | ${s.wallSeconds.toFixed(1)} |`,
    );
  }
  return out.join('\n') + '\n';
}

/** Runs every regulariser (skipping finished ones) into <out>/<reg>, then writes the comparison. */
export async function runToyCompare(base: ToyWganOptions, regs: Regulariser[] = COMPARED): Promise<CompareResult> {
  ensureDir(base.out);
  writeConfig(base.out, base);
  const summaries: ToyWganSummary[] = [];
  for (const reg of regs) {
    const dir = path.join(base.out, reg);
    const file = path.join(dir, 'summary.json');
    if (fs.existsSync(file)) {
      console.error(`${reg}: done, skipped`);
      summaries.push(JSON.parse(fs.readFileSync(file, 'utf8')) as ToyWganSummary);
      continue;
    }
    // per-regulariser default λ unless one was given for all
    summaries.push(await runToyWgan({ ...base, reg, out: dir, resume: true }));
  }
  const metrics = new Map(regs.map((r) => [r, Metrics.read(path.join(base.out, r, 'metrics.jsonl'))]));
  const curves: string[] = [];
  for (const c of CURVES) {
    const file = path.join(base.out, c.file);
    const series = regs.map((r) => {
      const rows = metrics.get(r)!;
      return { name: r, x: rows.map((row) => row.step), y: rows.map((row) => row[c.key] ?? NaN) };
    });
    curves.push(
      await saveLines(file, series, {
        title: `${base.dataset}: ${c.title}`,
        yTitle: c.title,
        logY: c.key === 'gradNormInterp',
      }),
    );
  }
  const sheet = path.join(base.out, 'samples_sheet.png');
  const items = summaries.map((s) => ({
    file: path.join(base.out, s.reg, 'samples.png'),
    label: `${s.reg}${PENALISED.includes(s.reg) ? ` λ=${s.lambda}` : ''} W1=${cell(s.final.w1, 3)}`,
  }));
  savePng(await contactSheet(items, Math.min(3, items.length), 300), sheet);
  const table = path.join(base.out, 'summary.md');
  writeFileSafe(table, compareTable(base, summaries));
  return { summaries, curves, sheet, table };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = toyCli()
    .name('toy_compare')
    .description('toy WGAN with every regulariser on one dataset, compared')
    .option('--with-clip', 'also run weight clipping', false);
  cli.parse();
  await main(async () => {
    const opts = cli.opts();
    if (cli.getOptionValueSource('reg') === 'cli')
      throw new Error(
        `toy_compare: --reg is not an option here: every regulariser runs (${COMPARED.join(', ')}; --with-clip adds clip)`,
      );
    const o = toyOptions({ ...opts, reg: 'alp', out: opts.out === 'out/toy_wgan' ? 'out/toy_compare' : opts.out });
    const regs: Regulariser[] = opts.withClip ? [...COMPARED, 'clip'] : COMPARED;
    if (!regs.every((r) => REGULARISERS.includes(r))) throw new Error('toy_compare: unknown regulariser');
    const r = await runToyCompare(o, regs);
    console.log(fs.readFileSync(r.table, 'utf8'));
    console.log(`curves: ${r.curves.map((c) => path.resolve(c)).join(', ')}\nsamples: ${path.resolve(r.sheet)}`);
  });
}
