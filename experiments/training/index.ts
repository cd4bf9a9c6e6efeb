// alr-webgpu/training: the pieces every experiment script of this repository is built from, for
// your own scripts (Node only: they write files with node:fs).
// - runWganLoop: the WGAN outer loop with resume from a checkpoint, one submit per iteration, a
//   stop on the first non-finite logged scalar, periodic evaluation, metrics rows and checkpoints
// - Metrics (metrics.jsonl, crash-safe appends), Progress (a terminal bar, or log lines), main,
//   program and the option parsers (a commander CLI with the common --out/--seed/--resume flags)
// - Vega-Lite charts rendered to SVG/PNG without a browser (lineChartSpec, scatterSpec, saveChart)
// - readers for IDX (Fashion-MNIST) and CIFAR-10 binaries, and a batcher with resumable state
// - atomic file writes (writeFileSafe) and the guards the loop uses (stopIfNonFinite, resumeStep)
// Optional peer dependencies: commander and cli-progress (run.ts), vega, vega-lite and
// @resvg/resvg-js (chart.ts); install the ones whose pieces you import.
export {
  plainCriticLoss,
  runWganLoop,
  type EvaluationContext,
  type WganLoop,
  type WganLoopResult,
} from './wgan_loop.js';
export {
  ensureDir,
  intArg,
  main,
  memoryFields,
  Metrics,
  NONNEG_ARG,
  numArg,
  outArg,
  PROBE_ARG,
  Progress,
  program,
  writeConfig,
  writeJson,
  type CommonOptions,
} from './run.js';
export {
  chartSvg,
  heatmapSpec,
  lineChartSpec,
  saveChart,
  scatterSpec,
  svgToPng,
  type Frame,
  type GridField,
  type LineChartOptions,
  type PointSet,
  type Series,
  type VegaLiteSpec,
} from './chart.js';
export { firstNonFinite, metadataJson, requireFinite, resumeStep, stopIfNonFinite } from './guard.js';
export { appendSafe, openAppendSafe, tempName, writeFileSafe } from './files.js';
export { incompleteBeta, stat, welch, type Stat } from './welch.js';
export { encodeIdx, parseIdx, readIdx, readMaybeGzip, type IdxArray } from './data/idx.js';
export {
  CIFAR_RECORD,
  concatSets,
  FASHION_CLASSES,
  FASHION_MNIST_DIR,
  loadCifar10,
  loadFashionMnist,
  padTo,
  readCifarBatch,
  subset,
  type ImageSet,
} from './data/images.js';
export { Batcher, oneHot, toFloat, type BatcherOptions, type BatcherState } from './data/batches.js';
export { writeSyntheticCifar, writeSyntheticFashion } from './data/synthetic.js';
