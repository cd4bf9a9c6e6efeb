// safetensors I/O and training checkpoints: format, corrupt files, bit-exact round trips and
// bit-identical resumed training.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  MLP,
  type Module,
  readSafetensors,
  saveCheckpoint,
  type StTensor,
} from '../../../nn/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const dir = mkdtempSync(join(tmpdir(), 'alr-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = new URL('../../../bench/conformance/fixtures/nn_small.safetensors', import.meta.url).pathname;

function sample(): [string, StTensor][] {
  return [
    ['a.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, -0, 1e-30]) }],
    ['b', { dtype: 'F32', shape: [], data: Float32Array.from([7]) }],
    ['idx', { dtype: 'I32', shape: [3], data: Int32Array.from([-1, 0, 2 ** 31 - 1]) }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
  ];
}

/** Header bytes with a given JSON text (no padding) followed by `data`. */
function raw(json: string, data: Uint8Array = new Uint8Array(0), n?: number): Uint8Array {
  const h = Buffer.from(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors and metadata; the data section is 8-byte aligned', () => {
    const bytes = encodeSafetensors(sample(), { step: '12', note: 'x' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(header['a.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.__metadata__).toEqual({ step: '12', note: 'x' });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '12', note: 'x' });
    for (const [name, t] of sample()) {
      const r = tensors.get(name)!;
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).equals(Buffer.from(t.data.buffer))).toBe(
        true,
      );
    }
  });

  it('reads the file written by the PyTorch fixture script (independent writer, unpadded header)', async () => {
    const { tensors, metadata } = await readSafetensors(FIXTURE);
    expect(['test/fixtures/gen_nn.py', 'bench/conformance/fixtures/gen_nn.py']).toContain(metadata.source); // moved from test/
    const w = tensors.get('critic.block1.conv1.weight')!;
    expect(w.dtype).toBe('F32');
    expect(w.shape).toEqual([8, 3, 3, 3]);
    expect(tensors.get('generator.normOut.running_var')!.shape).toEqual([8]);
  });

  const good = encodeSafetensors(sample());
  const hdr = JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
  const corrupt: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /0 bytes, too short for the 8-byte header length/],
    ['header length beyond the file', raw('{}', new Uint8Array(0), 100), /header length 100 exceeds the 2 bytes/],
    ['absurd header length', raw('{}', new Uint8Array(0), 2 ** 40), /header length 1099511627776 is implausible/],
    ['JSON error', raw('{"t": {"dtype": "F32",', new Uint8Array(8)), /header is not valid JSON/],
    ['header not an object', raw('[1, 2]'), /header is not a JSON object/],
    ['truncated data', good.subarray(0, good.length - 3), /out of range|wrong byte count/],
    ['trailing bytes', raw(hdr, new Uint8Array(12)), /the data section has 12 bytes but the tensors cover 8/],
    [
      'offsets out of range',
      raw(hdr, new Uint8Array(4)),
      /data_offsets \[0, 8\] are out of range: the data section has 4 bytes/,
    ],
    [
      'byte count not matching the shape',
      raw(JSON.stringify({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), new Uint8Array(8)),
      /'t' spans 8 bytes but F32 \[3\] needs 12/,
    ],
    [
      'overlapping tensors',
      raw(
        JSON.stringify({
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        }),
        new Uint8Array(8),
      ),
      /starts at byte 4, expected 8/,
    ],
    [
      'unknown dtype',
      raw(JSON.stringify({ t: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }), new Uint8Array(4)),
      /unknown dtype "F33"/,
    ],
    [
      'unsupported dtype',
      raw(JSON.stringify({ t: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }), new Uint8Array(8)),
      /dtype F64; only F32, I32 and U32/,
    ],
    [
      'bad shape',
      raw(JSON.stringify({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }), new Uint8Array(4)),
      /invalid shape \[-1\]/,
    ],
    ['non-string metadata', raw(JSON.stringify({ __metadata__: { step: 3 } })), /metadata 'step' is not a string/],
  ];
  for (const [what, bytes, re] of corrupt) {
    it(`rejects a corrupt file: ${what} (the error names the file)`, async () => {
      const p = join(dir, `corrupt-${what.replace(/\W+/g, '_')}.safetensors`);
      writeFileSync(p, bytes);
      await expect(readSafetensors(p)).rejects.toThrow(re);
      await expect(readSafetensors(p)).rejects.toThrow(p);
    });
  }
});

/** A small model with parameters and buffers of every kind: BatchNorm stats, spectral-norm u, v. */
const makeModel = () => new MLP([2, 16, 16, 1], { batchNorm: true, spectralNorm: true });

async function bits(m: Module): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const [n, t] of m.stateDict()) out.set(n, Buffer.from((await t.toFloat32()).buffer));
  return out;
}

async function expectSameBits(a: Module, b: Module): Promise<void> {
  const x = await bits(a);
  const y = await bits(b);
  expect([...y.keys()]).toEqual([...x.keys()]);
  for (const [n, buf] of x) expect(buf.equals(y.get(n)!), `${n} differs`).toBe(true);
}

/** One regression step on data drawn from the engine RNG (so the RNG state matters on resume). */
function trainSteps(m: Module, opt: E.Adam, n: number): void {
  for (let i = 0; i < n; i++) {
    E.tidy(() => {
      const x = E.randUniform([32, 2], -4, 4);
      const r = E.perSampleNorm(x);
      const target = E.where(E.mul(E.ge(r, 1), E.rsub(E.ge(r, 2), 1)), E.zeros([32]), E.ones([32]));
      const y = E.add(m.forward(x), E.mul(E.randNormal([32]), 0.01));
      E.backward(E.mean(E.square(E.sub(y, target))));
    });
    opt.step();
    E.zeroGrad(m.parameters());
  }
}

describe('checkpoints', () => {
  it('round trip is bit-exact for parameters, buffers, Adam state, step and RNG state; writes are atomic', async () => {
    E.manualSeed(1);
    const a = makeModel();
    const optA = new E.Adam(a.parameters(), { lr: 1e-2, betas: [0, 0.9] });
    trainSteps(a, optA, 3);
    const path = join(dir, 'roundtrip.safetensors');
    writeFileSync(path, 'an older file that gets replaced');
    const rng = E.getRngState();
    await saveCheckpoint(path, { modules: { D: a }, optimizers: { D: optA }, step: 3, metadata: { run: 'test' } });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

    E.manualSeed(99); // different init and RNG position: the load must overwrite both
    const b = makeModel();
    const optB = new E.Adam(b.parameters(), { lr: 1e-2, betas: [0, 0.9] });
    const { step, metadata } = await loadCheckpoint(path, { modules: { D: b }, optimizers: { D: optB } });
    expect(step).toBe(3);
    expect(metadata.run).toBe('test');
    expect(metadata.format).toBeUndefined(); // the checkpoint's own entries come apart, in `internal`
    expect(E.getRngState()).toEqual(rng);
    await expectSameBits(a, b);
    const [sa, sb] = [optA.state(), optB.state()];
    expect(sb.step).toBe(sa.step);
    for (let i = 0; i < sa.m.length; i++) {
      expect(
        Buffer.from((await sb.m[i].toFloat32()).buffer).equals(Buffer.from((await sa.m[i].toFloat32()).buffer)),
      ).toBe(true);
      expect(
        Buffer.from((await sb.v[i].toFloat32()).buffer).equals(Buffer.from((await sa.v[i].toFloat32()).buffer)),
      ).toBe(true);
    }
    const { tensors } = await readSafetensors(path);
    expect(tensors.has('D.0.weight_orig')).toBe(true);
    expect(tensors.has('D.1.running_var')).toBe(true);
    expect(tensors.has('optim.D.0.weight_orig.exp_avg_sq')).toBe(true);
    // models only: the optimiser moments are unexpected unless strict is off
    const c = makeModel();
    await expect(loadCheckpoint(path, { modules: { D: c } })).rejects.toThrow(/unexpected: optim\.D\./);
    await loadCheckpoint(path, { modules: { D: c }, strict: false });
    await expectSameBits(a, c);
    for (const x of [a, b, c, optA, optB]) x.dispose();
  });

  it('save, load into fresh objects and continue = uninterrupted training, bit for bit', async () => {
    const N = 4;
    E.manualSeed(7);
    const ref = makeModel();
    const optRef = new E.Adam(ref.parameters(), { lr: 1e-2 });
    trainSteps(ref, optRef, 2 * N);

    E.manualSeed(7);
    const first = makeModel();
    const opt1 = new E.Adam(first.parameters(), { lr: 1e-2 });
    trainSteps(first, opt1, N);
    const path = join(dir, 'resume.safetensors');
    await saveCheckpoint(path, { modules: first, optimizers: { model: opt1 }, step: N });
    first.dispose();
    opt1.dispose();
    E.manualSeed(12345);
    E.randUniform([1000]).dispose(); // move the RNG elsewhere

    const second = makeModel();
    const opt2 = new E.Adam(second.parameters(), { lr: 1e-2 });
    const { step } = await loadCheckpoint(path, { modules: second, optimizers: { model: opt2 } });
    expect(step).toBe(N);
    trainSteps(second, opt2, N);
    await expectSameBits(ref, second);
    expect(opt2.state().step).toBe(2 * N);
    for (const x of [ref, second, optRef, opt2]) x.dispose();
  });

  it('loading lists every missing, unexpected and mismatched tensor in one error and changes nothing', async () => {
    E.manualSeed(3);
    const a = new MLP([2, 16, 16, 1], { batchNorm: true });
    const optA = new E.Adam(a.parameters());
    const path = join(dir, 'mismatch.safetensors');
    await saveCheckpoint(path, { modules: { D: a }, optimizers: { D: optA } });
    const b = new MLP([2, 12, 8, 1], { spectralNorm: true }); // other widths, no BN, SN names
    const optB = new E.Adam(b.parameters());
    const before = await bits(b);
    let msg = '';
    try {
      await loadCheckpoint(path, { modules: { D: b }, optimizers: { D: optB } });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(path);
    expect(msg).toMatch(/missing: D\.0\.weight_orig \[12, 2\]/);
    expect(msg).toMatch(/missing: D\.0\.weight_u \[12\]/);
    expect(msg).toMatch(/unexpected: D\.0\.weight\n/);
    expect(msg).toMatch(/unexpected: D\.1\.running_mean/);
    expect(msg).toMatch(/missing: optim\.D\.2\.weight_orig\.exp_avg \[8, 12\]/);
    expect(msg).toMatch(/shape mismatch: D\.0\.bias expects \[12\], file has \[16\]/);
    const after = await bits(b);
    for (const [n, buf] of before) expect(buf.equals(after.get(n)!), `${n} changed`).toBe(true);
    for (const x of [a, b, optA, optB]) x.dispose();
  });

  it('a checkpoint cut short gives a clear error naming the file', async () => {
    E.manualSeed(4);
    const a = new MLP([2, 8, 1]);
    const path = join(dir, 'cut.safetensors');
    await saveCheckpoint(path, { modules: a });
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    await expect(loadCheckpoint(path, { modules: a })).rejects.toThrow(
      new RegExp(`safetensors: ${path}: .*(out of range|wrong byte count)`),
    );
    a.dispose();
  });
});
