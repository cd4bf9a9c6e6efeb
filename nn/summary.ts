// summary(module, inputShape): a torchinfo-style table of layers, output shapes and parameter
// counts, from one forward pass on zeros (no gradients, no running-statistic updates).
import { noGrad, shapeStr, tidy, zeros, type Tensor } from '../engine/web.js';
import { withoutStatUpdates, type Module } from './module.js';

export interface SummaryRow {
  /** dotted name ('' for the root) */
  name: string;
  /** the module's class */
  type: string;
  /** nesting depth (0 for the root) */
  depth: number;
  /** output shape of the module's last forward call in the pass, or null if it was not called */
  outputShape: number[] | null;
  /** parameters owned by this module itself (not its children) */
  params: number;
}

export interface Summary {
  rows: SummaryRow[];
  totalParams: number;
  /** bytes of all parameters and buffers (f32) */
  stateBytes: number;
  /** the table as text */
  text: string;
}

/** Runs `module` on zeros of `inputShape` and tabulates every submodule. */
export function summary(module: Module, inputShape: readonly number[]): Summary {
  const modules = module.namedModules();
  const shapes = new Map<Module, number[]>();
  const originals = modules.map(([, m]) => {
    const own = Object.prototype.hasOwnProperty.call(m, 'forward');
    const f = m.forward;
    m.forward = (x: Tensor) => {
      const y = f.call(m, x);
      shapes.set(m, [...y.shape]);
      return y;
    };
    return () => (own ? (m.forward = f) : delete (m as { forward?: unknown }).forward);
  });
  try {
    tidy(() => void withoutStatUpdates(() => noGrad(() => module.forward(zeros(inputShape)))));
  } finally {
    originals.forEach((restore) => restore());
  }
  const rows: SummaryRow[] = modules.map(([name, m]) => ({
    name,
    type: m.constructor.name,
    depth: name ? name.split('.').length : 0,
    outputShape: shapes.get(m) ?? null,
    params: ownParams(m),
  }));
  const totalParams = module.numParameters();
  const stateBytes = 4 * (totalParams + module.namedBuffers().reduce((s, [, t]) => s + t.size, 0));
  const label = (r: SummaryRow) => `${'  '.repeat(r.depth)}${r.name ? `${r.name.split('.').pop()} ` : ''}(${r.type})`;
  const cells = rows.map((r) => [
    label(r),
    r.outputShape ? shapeStr(r.outputShape) : '--',
    r.params ? r.params.toLocaleString('en-US') : '--',
  ]);
  const head = ['Layer (type)', 'Output shape', 'Param #'];
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(width[i]) : x.padStart(width[i]))).join('   ');
  const rule = '='.repeat(line(head).length);
  const text = [
    rule,
    line(head),
    rule,
    ...cells.map(line),
    rule,
    `Input shape: ${shapeStr(inputShape)}`,
    `Total params: ${totalParams.toLocaleString('en-US')}`,
    `Parameters and buffers: ${(stateBytes / 2 ** 20).toFixed(2)} MiB (f32)`,
    ...(rows.some((r) => !r.outputShape)
      ? ['-- output shape: not called in the pass (e.g. a ReLU fused into the Linear before it)']
      : []),
    rule,
  ].join('\n');
  return { rows, totalParams, stateBytes, text };
}

/** Parameters registered on this module itself (children's names carry a dotted prefix). */
function ownParams(m: Module): number {
  return m
    .namedParameters()
    .filter(([n]) => !n.includes('.'))
    .reduce((s, [, t]) => s + t.size, 0);
}
