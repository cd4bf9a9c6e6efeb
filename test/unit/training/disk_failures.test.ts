// What reaches the disk, and what is read back from it, when things go wrong: non-finite state,
// corrupt checkpoint metadata, a torn metrics line, a corrupt header in front of a large file,
// orphaned temp files, and a W1 metric fed NaN.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  Linear,
  loadCheckpoint,
  readSafetensors,
  saveCheckpoint,
} from '../../../nn/index.js';
import { Metrics } from '../../../experiments/training/run.js';
import { exactW1 } from '../../../experiments/common/toy_metrics.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'alr-rel-'));

async function savedModel(dir: string) {
  E.manualSeed(3);
  const m = new Linear(3, 2);
  const opt = new E.Adam(m.parameters(), { lr: 1e-3 });
  const file = path.join(dir, 'ck.safetensors');
  await saveCheckpoint(file, { modules: m, optimizers: { m: opt }, step: 7 });
  return { m, opt, file };
}

function rewriteMetadata(file: string, edit: (m: Record<string, string>) => void): void {
  const st = decodeSafetensors(new Uint8Array(fs.readFileSync(file)));
  edit(st.metadata);
  fs.writeFileSync(file, encodeSafetensors(st.tensors, st.metadata));
}

describe('non-finite state', () => {
  it('saveCheckpoint refuses NaN/Inf, names the tensors, and leaves the previous file untouched', async () => {
    const dir = tmp();
    const { m, opt, file } = await savedModel(dir);
    const before = fs.readFileSync(file);
    E.assign(m.weight, E.tensor([1, NaN, 3, Infinity, 5, 6], [2, 3]));
    await expect(saveCheckpoint(file, { modules: m, optimizers: { m: opt }, step: 8 })).rejects.toThrow(
      /ck\.safetensors \(step 8\): not written, non-finite values in weight \(2 of 6\); the previous checkpoint is untouched/,
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    await saveCheckpoint(path.join(dir, 'diverged.safetensors'), { modules: m, allowNonFinite: true });
    await expect(loadCheckpoint(path.join(dir, 'diverged.safetensors'), { modules: m })).rejects.toThrow(
      /non-finite values in weight \(2 of 6\) \(pass allowNonFinite to load them anyway\)/,
    );
    await loadCheckpoint(path.join(dir, 'diverged.safetensors'), { modules: m, allowNonFinite: true });
    expect(Array.from(await m.weight.toFloat32()).filter(Number.isNaN).length).toBe(1);
    m.dispose();
    opt.dispose();
  });

  it('exactW1 rejects non-finite points at once instead of looping forever', () => {
    const a = new Float32Array([0, 0, 1, 1]);
    expect(() => exactW1(a, new Float32Array([0, NaN, 1, 1]))).toThrow(
      /second point set holds a non-finite coordinate \(NaN at index 1\)/,
    );
    expect(exactW1(a, a)).toBe(0);
  });
});

describe('checkpoint metadata is validated, naming the file and key', () => {
  for (const [key, value, pattern] of [
    ['step', 'abc', /metadata 'step' must be an integer in \[0, \d+\], got "abc"/],
    ['step', '-5', /metadata 'step' must be an integer .* got "-5"/],
    ['rng.counter', 'abc', /metadata 'rng\.counter' must be an integer .* got "abc"/],
    ['rng.seed', '1e12', /metadata 'rng\.seed' must be an integer in \[0, 4294967295\], got "1e12"/],
    ['optim.m.step', '', /metadata 'optim\.m\.step' must be an integer .* got ""/],
  ] as const) {
    it(`${key} = ${JSON.stringify(value)}`, async () => {
      const dir = tmp();
      const { m, opt, file } = await savedModel(dir);
      rewriteMetadata(file, (md) => (md[key] = value));
      const rng = E.getRngState();
      const w = await m.weight.toFloat32();
      await expect(loadCheckpoint(file, { modules: m, optimizers: { m: opt } })).rejects.toThrow(
        new RegExp(`ck\\.safetensors[\\s\\S]*${pattern.source}`),
      );
      expect(E.getRngState()).toEqual(rng); // nothing was changed
      expect(Array.from(await m.weight.toFloat32())).toEqual(Array.from(w));
      m.dispose();
      opt.dispose();
    });
  }
});

describe('files', () => {
  it('a corrupt header in front of a large file is rejected without reading the file', async () => {
    const dir = tmp();
    const file = path.join(dir, 'big.safetensors');
    const header = Buffer.from('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}');
    const fd = fs.openSync(file, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, header);
    fs.ftruncateSync(fd, 1.5 * 2 ** 30); // 1.5 GiB, sparse: the data section does not match the header
    fs.closeSync(fd);
    const rss = process.memoryUsage().rss;
    await expect(readSafetensors(file)).rejects.toThrow(
      /big\.safetensors: the data section has \d+ bytes but the tensors cover 8/,
    );
    expect((process.memoryUsage().rss - rss) / 2 ** 20).toBeLessThan(100);
  });

  it('saving removes temp files left by killed writers, keeps those of live ones', async () => {
    const dir = tmp();
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']).stdout.toString().trim();
    const orphan = path.join(dir, `.ck.safetensors.tmp-${dead}-abc`);
    const live = path.join(dir, `.ck.safetensors.tmp-${process.ppid}-def`);
    fs.writeFileSync(orphan, 'x');
    fs.writeFileSync(live, 'x');
    const { m, opt } = await savedModel(dir);
    expect(fs.existsSync(orphan)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    m.dispose();
    opt.dispose();
  });

  it('metrics.jsonl: a torn last line is dropped on resume; a bad line elsewhere names the file and line', () => {
    const dir = tmp();
    const file = path.join(dir, 'metrics.jsonl');
    fs.writeFileSync(file, '{"step":1,"a":1}\n{"step":2,"a":2}\n{"step":3,"a"');
    const m = new Metrics(file, 2);
    m.write({ step: 3, a: 3 });
    m.close();
    expect(Metrics.read(file).map((r) => r.step)).toEqual([1, 2, 3]);
    fs.writeFileSync(file, '{"step":1}\n{"step":2,\n{"step":3}\n');
    expect(() => Metrics.read(file)).toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')}:2: not a JSON line`));
    expect(() => new Metrics(file, 1)).toThrow(/:2: not a JSON line/);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"step":1}\n{"step":2,\n{"step":3}\n'); // nothing truncated
  });
});
