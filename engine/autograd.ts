// Reverse-mode autodiff on a tape. Every backward rule is written with differentiable ops,
// so with createGraph the backward pass is itself recorded and can be differentiated again.
import { keep, nextTensorId, Tensor, tidy, shapeStr } from './tensor.js';
import { arrayOf, bool, checkOptions, instance, unsupported, type OptionSpec } from './options.js';

export interface GradNode {
  op: string;
  inputs: Tensor[];
  /**
   * Gradients for each input given the output's gradient (null: no gradient flows). `needs[i]`
   * says whether input i's gradient is wanted; expensive rules (matmul, conv) skip the others.
   */
  backward: (g: Tensor, needs: boolean[]) => (Tensor | null)[];
}

let gradEnabled = true;
/** Counts nodes recorded while a backward pass runs with createGraph (second-order graph size). */
export const tapeStats = { recorded: 0, recordedDuringBackward: 0 };
let inBackward = false;

/** True while grad() runs backward rules (the profiler tags their dispatches). */
export function isInBackward(): boolean {
  return inBackward;
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording operations for autograd. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Records `out = op(inputs)` on the tape when any input requires a gradient. */
export function record(out: Tensor, op: string, inputs: Tensor[], backward: GradNode['backward']): Tensor {
  out.madeBy(op);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
    tapeStats.recorded++;
    if (inBackward) tapeStats.recordedDuringBackward++;
  }
  return out;
}

/** Marks a tensor as a leaf that collects gradients (parameters, inputs under study). */
export function requireGrad<T extends Tensor>(t: T): T {
  t.requiresGrad = true;
  return t;
}

// ---- gradient ops are injected by engine/web.ts (the entry point), so this file needs no kernels
interface GradOps {
  add(a: Tensor, b: Tensor): Tensor;
  onesLike(t: Tensor): Tensor;
  zerosLike(t: Tensor): Tensor;
  /** reduces a broadcast gradient back to `shape` */
  sumTo(g: Tensor, shape: readonly number[]): Tensor;
}
let ops: GradOps | null = null;
export function setGradOps(o: GradOps): void {
  ops = o;
}

/**
 * Sums a broadcast gradient back to `shape`, for the backward rules of the primitive ops
 * (elementwise, shape) that sit below the reductions: they call it through here, so that no op
 * module imports one that imports it back.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (!ops) throw new Error('autograd: gradient ops are not set; import the engine from its entry point');
  return ops.sumTo(g, shape);
}

function topoOrder(outputs: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // iterative DFS: deep graphs (long chains) must not overflow the JS stack
  const stack: [Tensor, number][] = outputs.filter((t) => t.requiresGrad).map((t) => [t, 0]);
  for (const [t] of stack) visited.add(t);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c.requiresGrad && !visited.has(c)) {
        visited.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse(); // outputs first
}

const GRAD_SPEC: OptionSpec = {
  gradOutputs: arrayOf((v, key, where) => v == null || instance(Tensor)(v, key, where)),
  createGraph: bool,
  retainGraph: unsupported('the tape is kept until its tensors are released', [false, true]),
  allowUnused: unsupported('inputs the outputs do not depend on always get zeros', [false, true]),
};

export interface GradOptions {
  /** upstream gradients for each output; default: ones (outputs must then be scalars) */
  gradOutputs?: Tensor[];
  /** record the backward pass so the result can be differentiated again */
  createGraph?: boolean;
}

/**
 * Gradients of sum(outputs · gradOutputs) with respect to `inputs` (any tensors in the graph,
 * leaves or not). Inputs the outputs do not depend on get zeros.
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], opts: GradOptions = {}): Tensor[] {
  if (!ops) throw new Error('grad: ops not loaded (import the engine through engine/index.ts)');
  checkOptions('grad', opts, GRAD_SPEC);
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  if (!Array.isArray(inputs)) throw new Error('grad: inputs must be an array of tensors');
  if (opts.gradOutputs && opts.gradOutputs.length !== outs.length) {
    throw new Error(`grad: got ${opts.gradOutputs.length} gradOutputs for ${outs.length} output(s)`);
  }
  const createGraph = opts.createGraph ?? false;
  const madeSeeds = new Set<Tensor>(); // ones made here for scalar outputs: freed once consumed
  const seeds = outs.map((o, i) => {
    const g = opts.gradOutputs?.[i];
    if (g) {
      if (g.shape.join() !== o.shape.join()) {
        throw new Error(`grad: gradOutputs[${i}] has shape ${shapeStr(g.shape)}, output has ${shapeStr(o.shape)}`);
      }
      return g;
    }
    if (o.size !== 1) {
      throw new Error(`grad: output ${i} has shape ${shapeStr(o.shape)}; pass gradOutputs for non-scalar outputs`);
    }
    const seed = noGrad(() => ops!.onesLike(o));
    madeSeeds.add(seed);
    return seed;
  });
  for (const t of [...outs, ...inputs]) {
    if (t.disposed) throw new Error(`grad: ${t} was already released`);
  }

  const wanted = new Set(inputs);
  const grads = new Map<Tensor, Tensor>();
  const owned = new Set<Tensor>(madeSeeds); // gradient tensors created here (safe to dispose early)
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    if (!prev) {
      grads.set(t, g);
      return;
    }
    const sum = ops!.add(prev, g);
    grads.set(t, sum);
    owned.add(sum);
    if (!createGraph) {
      for (const x of [prev, g]) if (owned.has(x) && ![...grads.values()].includes(x)) x.dispose();
    }
  };
  outs.forEach((o, i) => accumulate(o, seeds[i]));

  // Only tensors from which a requested input can be reached need a gradient: a search for
  // d/dr must not pay for the weight gradients of every layer.
  const order = topoOrder(outs);
  const relevant = new Set<Tensor>();
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (wanted.has(t) || t.node?.inputs.some((x) => relevant.has(x))) relevant.add(t);
  }

  const prevInBackward = inBackward;
  inBackward = true;
  try {
    withGrad(createGraph, () => {
      for (const t of order) {
        const g = grads.get(t);
        if (!g || !t.node || !relevant.has(t)) continue;
        const node = t.node;
        const needs = node.inputs.map((x) => x.requiresGrad && relevant.has(x));
        // first order: a rule's temporaries are freed as it returns (outside tidy() they leaked);
        // with createGraph they are part of the recorded graph and must live
        const made = nextTensorId();
        const inGrads = createGraph ? node.backward(g, needs) : tidy(() => node.backward(g, needs));
        if (!createGraph) {
          // a rule may return gradients nobody asked for (sub's for a constant): free the ones it made
          const used = new Set(inGrads.filter((gi, i) => gi && needs[i]));
          for (const gi of new Set(inGrads)) if (gi && gi.id >= made && !used.has(gi)) gi.dispose();
        }
        node.inputs.forEach((inp, i) => {
          const gi = inGrads[i];
          if (!gi || !needs[i]) return;
          if (gi.shape.join() !== inp.shape.join()) {
            throw new Error(
              `grad: backward of '${node.op}' gave a gradient of shape ${shapeStr(gi.shape)} for an input of shape ${shapeStr(inp.shape)}`,
            );
          }
          if (gi !== g) owned.add(gi); // a pass-through keeps the upstream gradient's ownership
          accumulate(inp, gi);
        });
        // free intermediate gradients as soon as they are consumed (first-order only)
        if (!createGraph && !wanted.has(t) && owned.has(g)) {
          grads.delete(t);
          if (![...grads.values()].includes(g)) g.dispose();
        }
      }
    });
  } finally {
    inBackward = prevInBackward;
  }
  return inputs.map((t) => grads.get(t) ?? noGrad(() => ops!.zerosLike(t)));
}

/**
 * Accumulates d(output)/d(leaf) into `leaf.grad` for every leaf that requires a gradient.
 * The .grad tensors are owned by their leaves (not by tidy scopes); zeroGrad() releases them.
 */
export function backward(output: Tensor, gradOutput?: Tensor): void {
  const leaves = topoOrder([output]).filter((t) => !t.node);
  const gs = tidy(() => grad(output, leaves, { gradOutputs: gradOutput ? [gradOutput] : undefined }));
  leaves.forEach((leaf, i) => {
    const g = keep(gs[i]);
    if (leaf.grad) {
      const sum = keep(noGrad(() => ops!.add(leaf.grad!, g)));
      leaf.grad.dispose();
      g.dispose();
      leaf.grad = sum;
    } else {
      leaf.grad = g;
    }
  });
}

/** Releases the .grad of each tensor. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
