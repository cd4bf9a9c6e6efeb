// `npm run gpu-check`: everything worth knowing on a new adapter, in one command. Prints the
// adapter, its features and limits; runs the portable suite (every kernel variant validated and
// compared bit for bit, the PyTorch op fixtures, gradchecks, optimisers, critic steps); tunes the
// kernel variants on common shape classes and prints the winners; then runs the bench's step
// suite (training steps, critic steps) with its table. Exits non-zero if a check failed.
//   npm run gpu-check [-- --no-bench]
import { spawnSync } from 'node:child_process';
import * as E from '../engine/index.js';
import { settleTimings } from '../engine/index.js';
import { runPortableSuite } from './conformance/suite.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(
    'usage: npm run gpu-check [-- --no-bench]\n  adapter, limits, portable suite, variant tuning, then the bench step suite (--no-bench skips it)',
  );
  process.exit(0);
}

// measure afresh: an in-memory tuner cache, so the table shows this run's winners (and the
// persistent cache is left as it was)
const measured = E.memoryTuneCache();
E.setPlatform({ ...E.platform(), tuneCache: measured });
await E.initDevice();
const info = E.deviceInfo();
const l = E.device().limits;
console.log(`# gpu-check on ${E.adapterName()}\n`);
console.log(
  `- backend: ${info.backend}; vendor ${info.vendor}, architecture ${info.architecture}, device ${info.device || '-'}, driver ${info.description || '-'}`,
);
console.log(`- features: ${info.features.join(', ')}; fixed subgroup size: ${info.subgroupSize || 'none'}`);
console.log(
  `- limits: storage binding ${(l.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, buffer ${(l.maxBufferSize / 2 ** 20).toFixed(0)} MiB, ` +
    `workgroup storage ${l.maxComputeWorkgroupStorageSize} B, invocations ${l.maxComputeInvocationsPerWorkgroup}, ` +
    `storage buffers per stage ${l.maxStorageBuffersPerShaderStage}, workgroups per dimension ${l.maxComputeWorkgroupsPerDimension}\n`,
);

E.setOption('ALR_TUNE', '0'); // the suite runs every variant itself
const report = await runPortableSuite();
const groups = new Map<string, { passed: number; failed: string[] }>();
for (const r of report.results) {
  const g = groups.get(r.group) ?? { passed: 0, failed: [] };
  if (r.ok) g.passed++;
  else g.failed.push(`${r.name}: ${r.detail}`);
  groups.set(r.group, g);
}
console.log(`## Checks (variants ${report.variants.join(', ')}; ${report.seconds.toFixed(1)} s)\n`);
console.log('| group | passed | failed |\n|---|---:|---:|');
for (const [g, v] of groups) console.log(`| ${g} | ${v.passed} | ${v.failed.length} |`);
for (const [, v] of groups) for (const f of v.failed) console.log(`- FAILED ${f}`);

// tuning: the first use of a shape class times every variant; the winners land in the cache
E.setOption('ALR_TUNE', '1');
E.manualSeed(0);
E.tidy(() => {
  for (const s of [64, 256, 1024]) E.matmul(E.randNormal([s, s]), E.randNormal([s, s]));
  const x = E.randNormal([16, 64, 16, 16]);
  const w = E.randNormal([128, 64, 3, 3]);
  const y = E.conv2d(x, w, null, { padding: 1 });
  E.conv2dInputGrad(y, w, x.shape, { padding: 1 });
  E.conv2dWeightGrad(x, y, w.shape, { padding: 1 });
});
await settleTimings();
const tuned = measured.load()[E.adapterName()] ?? {};
console.log('\n## Tuned variants (matmul 64/256/1024, conv 3x3 16x64x16x16 -> 128 in three directions)\n');
console.log('| op [variants]: shape class | winner |\n|---|---|');
for (const [k, v] of Object.entries(tuned)) console.log(`| ${k} | ${v} |`);
if (!Object.keys(tuned).length)
  console.log('| (none: the adapter has no timestamp queries, so the heuristic choice stands) | |');
await E.releaseDevice();

if (!args.includes('--no-bench')) {
  console.log('\n## Bench: steps\n');
  const bench = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--filter', 'step', '--filter', 'residual critic'],
    { stdio: 'inherit' },
  );
  if (bench.status !== 0) process.exitCode = 1;
}
if (report.failed) {
  console.log(`\ngpu-check: ${report.failed} check(s) failed`);
  process.exitCode = 1;
}
