// The critic as ALR sees it: a differentiable function with parameters. alr/ depends on this
// small interface only, so any model (nn's Module, a hand-written MLP) can be regularised.
import { reshape, shapeStr, type Tensor } from '../engine/web.js';

export interface Critic {
  /** [B, ...] -> [B] or [B, 1] scores (or [B, classes] logits for VAT / semi-supervised) */
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
  /**
   * Runs fn with train-mode batch statistics but without updating running statistics (BN critics).
   * Absent means the critic has no running statistics, so the pass needs no special care.
   */
  withoutStatUpdates?<T>(fn: () => T): T;
  /**
   * True when a forward pass normalises with its batch's statistics (batch norm in training
   * mode), so a sample's score depends on the rest of the batch: D(real) is then not a slice of
   * D([real; fake]). Absent means false.
   */
  readonly batchDependent?: boolean;
  /**
   * Runs fn and returns the batch statistics of each batch-norm layer it ran in training mode
   * (for `trace`). Absent: the critic has none to report.
   */
  batchStatistics?<T>(fn: () => T): { result: T; stats: LayerStatistics[] };
}

/** One batch-norm layer's statistics in one critic call, detached. */
export interface LayerStatistics {
  layer: string;
  mean: Tensor;
  variance: Tensor;
}

/** fn, with the critic's batch statistics appended to `sink` when tracing (one entry per call). */
export function tracedPass<T>(critic: Critic, fn: () => T, sink: LayerStatistics[][] | undefined): T {
  if (!sink || !critic.batchStatistics) return fn();
  const { result, stats } = critic.batchStatistics(fn);
  sink.push(stats);
  return result;
}

/**
 * An auxiliary pass: the search probes, the penalty's D(x) and D(x̂), gradient-penalty
 * interpolates. As in the authors' code (alr/README.md, Batch norm): every critic call normalises with its own batch
 * statistics, but only the main WGAN passes D(real), D(fake) update the running averages.
 */
export function auxiliaryPass<T>(critic: Critic, fn: () => T): T {
  return critic.withoutStatUpdates ? critic.withoutStatUpdates(fn) : fn();
}

/** The critic's output with a [B, 1] column flattened to [B]; [B] and [B, C] pass unchanged. */
export function criticOutput(critic: Critic, x: Tensor, caller: string): Tensor {
  const y = critic.forward(x);
  if (y.rank === 0 || y.shape[0] !== x.shape[0]) {
    throw new Error(
      `${caller}: the critic mapped input ${shapeStr(x.shape)} to ${shapeStr(y.shape)}; expected a leading batch axis of ${x.shape[0]}`,
    );
  }
  return y.rank === 2 && y.shape[1] === 1 ? reshape(y, [y.shape[0]]) : y;
}

/** One score per sample, [B]: what a WGAN critic must produce. */
export function criticScores(critic: Critic, x: Tensor, caller: string): Tensor {
  const y = criticOutput(critic, x, caller);
  if (y.rank !== 1) {
    throw new Error(`${caller}: a WGAN critic must output [B] or [B, 1] scores, got ${shapeStr(y.shape)}`);
  }
  return y;
}

/** Throws unless real and fake are batches of the same shape. */
export function checkBatches(caller: string, real: Tensor, fake: Tensor): void {
  if (real.rank < 1 || real.shape[0] === 0)
    throw new Error(`${caller}: real must be a non-empty batch, got ${shapeStr(real.shape)}`);
  if (real.shape.join() !== fake.shape.join()) {
    throw new Error(
      `${caller}: fake has shape ${shapeStr(fake.shape)} but real has ${shapeStr(real.shape)}; they must match`,
    );
  }
}
