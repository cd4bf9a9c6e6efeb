// The benchmark workloads as plain data. Every implementation (ours, the tfjs peers, the
// PyTorch peer, which receives this list as JSON) runs the same list, so rows line up by id.

export type ConvDir = 'fwd' | 'dx' | 'dw';
export type ChainOp = 'mulS' | 'addS' | 'tanh' | 'mulX' | 'addX' | 'sigmoid' | 'subX' | 'relu' | 'abs' | 'square';

export type Workload = {
  id: string;
  group: string;
  flops?: number;
  bytes?: number;
  /** our median ms, sent to peers so they can estimate their cost against their time budget */
  oursMs?: number;
  /** behind a speed target: a peer runs it whatever its time budget says */
  target?: boolean;
} & (
  | { kind: 'matmul'; M: number; K: number; N: number }
  /** NCHW input [N, C, H, W], weight [O, C, k, k]; peers in NHWC use the equivalent shapes */
  | {
      kind: 'conv';
      dir: ConvDir;
      N: number;
      C: number;
      H: number;
      W: number;
      O: number;
      k: number;
      pad: number;
      stride: number;
    }
  /** training-mode batch norm over [N, C, H, W]: forward, then gradients of x, weight, bias */
  | { kind: 'batchnorm'; N: number; C: number; H: number; W: number }
  /** one Adam step over `tensors` tensors of `size` elements each */
  | { kind: 'adam'; tensors: number; size: number }
  | { kind: 'chain'; n: number; ops: ChainOp[] }
  /** 2 -> hidden x depth -> 1 ReLU MLP, mean squared error, gradients, Adam: one training step */
  | { kind: 'mlp'; batch: number; hidden: number; depth: number }
  /** the CIFAR residual critic (alr/README.md, Setups) on [batch, 3, 32, 32]: forward, or forward + all gradients */
  | { kind: 'critic'; mode: 'fwd' | 'fwdbwd'; batch: number; dim: number }
  /**
   * a whole critic training step with a gradient penalty (gp) or ALP with k = 1 (alp) on half
   * reals + half fakes: the residual critic on 32x32 images (D([real; fake]) shared, clipped to
   * [-1, 1]) or the toy experiments' MLP critic 2 -> dim x3 -> 1 (as experiments/toy_wgan.ts runs it)
   */
  | { kind: 'criticStep'; reg: 'gp' | 'alp'; critic: 'resnet' | 'mlp'; half: number; dim: number }
);

export const CHAIN_OPS: ChainOp[] = [
  'mulS',
  'addS',
  'tanh',
  'mulX',
  'addX',
  'sigmoid',
  'subX',
  'relu',
  'abs',
  'square',
];

function matmul(M: number, K: number, N: number): Workload {
  return { id: `matmul [${M},${K}]x[${K},${N}]`, group: 'matmul', kind: 'matmul', M, K, N, flops: 2 * M * N * K };
}

function conv(dir: ConvDir, N: number, C: number, H: number, O: number, k: number): Workload {
  const pad = (k - 1) / 2;
  const name = { fwd: 'forward', dx: 'input-grad', dw: 'weight-grad' }[dir];
  return {
    id: `conv ${k}x${k} ${name} ${N}x${C}x${H}x${H}->${O}`,
    group: 'conv2d',
    kind: 'conv',
    dir,
    N,
    C,
    H,
    W: H,
    O,
    k,
    pad,
    stride: 1,
    flops: 2 * N * O * H * H * C * k * k,
  };
}

export interface SuiteSizes {
  quick: boolean;
}

/** The whole suite; `quick` gives tiny sizes for the smoke test. */
export function workloads({ quick }: SuiteSizes): Workload[] {
  const out: Workload[] = [];
  const mm: [number, number, number][] = quick
    ? [
        [64, 64, 64],
        [16, 256, 32],
      ]
    : [
        [256, 256, 256],
        [512, 512, 512],
        [1024, 1024, 1024],
        [2048, 2048, 2048],
        [256, 512, 512],
        [64, 8192, 128],
      ];
  for (const [M, K, N] of mm) out.push(matmul(M, K, N));

  const convShapes: [number, number, number, number, number][] = quick
    ? [
        [2, 8, 8, 8, 3],
        [2, 8, 8, 8, 1],
      ]
    : [
        [64, 128, 32, 128, 3],
        [64, 128, 16, 128, 3],
        [64, 128, 8, 128, 3],
        [64, 128, 16, 128, 1],
      ];
  for (const [N, C, H, O, k] of convShapes)
    for (const dir of ['fwd', 'dx', 'dw'] as const) out.push(conv(dir, N, C, H, O, k));

  const [bn, bc, bh] = quick ? [4, 8, 8] : [64, 128, 16];
  out.push({
    id: `batchnorm fwd+bwd ${bn}x${bc}x${bh}x${bh}`,
    group: 'norm',
    kind: 'batchnorm',
    N: bn,
    C: bc,
    H: bh,
    W: bh,
    bytes: 8 * 4 * bn * bc * bh * bh,
  });

  const [at, as] = quick ? [2, 1024] : [8, 131072];
  // read p, g, m, v; write p, m, v
  out.push({
    id: `adam ${at}x${as} = ${fmtCount(at * as)} params`,
    group: 'optim',
    kind: 'adam',
    tensors: at,
    size: as,
    bytes: 7 * 4 * at * as,
  });

  const cn = quick ? 4096 : 1 << 20;
  out.push({
    id: `elementwise chain ${CHAIN_OPS.length} ops x ${fmtCount(cn)}`,
    group: 'elementwise',
    kind: 'chain',
    n: cn,
    ops: CHAIN_OPS,
    bytes: chainBytes(cn),
  });

  const [mb, mh] = quick ? [16, 32] : [256, 512];
  const mlpFlops = 6 * mb * (2 * mh + mh * mh * 2 + mh); // forward + two backward matmuls per layer
  out.push({
    id: `toy MLP step 2-${mh}x3-1 batch ${mb} + Adam`,
    group: 'steps',
    kind: 'mlp',
    batch: mb,
    hidden: mh,
    depth: 3,
    flops: mlpFlops,
  });

  const [cb, cd] = quick ? [2, 8] : [64, 128];
  const cf = criticFlops(cd);
  out.push({
    id: `residual critic DIM ${cd} batch ${cb} fwd`,
    group: 'steps',
    kind: 'critic',
    mode: 'fwd',
    batch: cb,
    dim: cd,
    flops: cb * cf,
  });
  out.push({
    id: `residual critic DIM ${cd} batch ${cb} fwd+bwd`,
    group: 'steps',
    kind: 'critic',
    mode: 'fwdbwd',
    batch: cb,
    dim: cd,
    flops: 3 * cb * cf,
  });

  // whole critic steps, GP and ALP side by side (their ratio is what ALR is about): the residual
  // critic at B = 8 + 8 (short) and at the paper's 64 + 64, and the toy experiments' MLP step
  const steps: ['resnet' | 'mlp', number, number][] = quick
    ? [
        ['resnet', 2, 8],
        ['mlp', 16, 16],
      ]
    : [
        ['resnet', 8, 128],
        ['resnet', 64, 128],
        ['mlp', 256, 128],
      ];
  for (const [critic, half, dim] of steps) out.push(...criticSteps(critic, half, dim));
  return out;
}

/** The GP and ALP critic steps of one critic and batch (measured round-robin: see bench/run.ts). */
function criticSteps(critic: 'resnet' | 'mlp', half: number, dim: number): Workload[] {
  const name = critic === 'resnet' ? `residual critic DIM ${dim}` : `toy MLP critic 2-${dim}x3-1`;
  return (['gp', 'alp'] as const).map((reg) => ({
    id: `critic step ${reg === 'gp' ? 'WGAN-GP' : 'WGAN-ALP k=1'} ${name} B ${half}+${half}`,
    group: 'critic steps',
    kind: 'criticStep',
    reg,
    critic,
    half,
    dim,
  }));
}

function chainBytes(n: number): number {
  // each op reads its input (and x for the binary ones) and writes its output
  const binary = CHAIN_OPS.filter((o) => o.endsWith('X')).length;
  return 4 * n * (2 * CHAIN_OPS.length + binary);
}

/** Forward multiply-adds x2 of one 32x32 sample through the residual critic. */
export function criticFlops(dim: number): number {
  const c = (hw: number, cin: number, cout: number, k: number) => 2 * hw * hw * cin * cout * k * k;
  return (
    c(32, 3, dim, 3) +
    c(32, dim, dim, 3) +
    c(16, 3, dim, 1) + // optimized block (shortcut on the pooled input)
    c(16, dim, dim, 3) * 2 +
    c(16, dim, dim, 1) + // down block
    c(8, dim, dim, 3) * 4 + // two plain blocks
    2 * dim
  );
}

function fmtCount(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

/** A GP / ALP pair of critic steps (same critic, same batch). */
export interface StepPair {
  label: string;
  gp: string;
  alp: string;
}

/** The full-size workloads behind the speed targets. */
export function targetIds(): {
  critic: string;
  matmul: string;
  conv: string[];
  adam: string;
  mlp: string;
  steps: StepPair[];
} {
  const full = workloads({ quick: false });
  const id = (f: (w: Workload) => boolean) => full.find(f)!.id;
  return {
    critic: id((w) => w.kind === 'critic' && w.mode === 'fwdbwd'),
    matmul: id((w) => w.kind === 'matmul' && w.M === 1024 && w.K === 1024 && w.N === 1024),
    conv: full.filter((w) => w.kind === 'conv' && w.k === 3 && w.H === 16).map((w) => w.id),
    adam: id((w) => w.kind === 'adam'),
    mlp: id((w) => w.kind === 'mlp'),
    steps: full
      .filter((w): w is Extract<Workload, { kind: 'criticStep' }> => w.kind === 'criticStep' && w.reg === 'gp')
      .map((g) => ({
        label: g.critic === 'resnet' ? `residual critic B ${g.half}+${g.half}` : `toy MLP critic B ${g.half}+${g.half}`,
        gp: g.id,
        alp: id(
          (w) =>
            w.kind === 'criticStep' && w.reg === 'alp' && w.critic === g.critic && w.half === g.half && w.dim === g.dim,
        ),
      })),
  };
}
