// Writing into run folders a third party can write to: links planted at the files a run writes
// (or at the temp names it used to use) must never redirect a write, a full disk must name the
// file and what was kept, and a hostile sweep spec must not reach paths outside the sweep folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as E from '../../../engine/index.js';
import { Linear, saveCheckpoint } from '../../../nn/index.js';
import { Metrics, writeJson } from '../../../experiments/training/run.js';
import { openAppendSafe, writeFileSafe } from '../../../experiments/training/files.js';
import { planRuns, runName } from '../../../experiments/sweep/layout.js';
import { defaultSpec, readSpecFile, resolveSpec } from '../../../experiments/sweep/spec.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'alr-safe-'));

/** A decoy "system file" outside the run folder and a run folder with links planted at `names`. */
function planted(names: string[]) {
  const root = tmp();
  const decoy = path.join(root, 'decoy.txt');
  fs.writeFileSync(decoy, 'precious\n');
  const dir = path.join(root, 'run');
  fs.mkdirSync(dir);
  for (const n of names) fs.symlinkSync(decoy, path.join(dir, n));
  return { root, decoy, dir, intact: () => fs.readFileSync(decoy, 'utf8') === 'precious\n' };
}

const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp'));

describe('planted links never redirect a write', () => {
  it('config.json / summary.json: links at the file and at the old fixed temp names', () => {
    const p = planted(['config.json.tmp', 'summary.json.tmp', 'summary.json']);
    writeJson(path.join(p.dir, 'config.json'), { a: 1 });
    writeJson(path.join(p.dir, 'summary.json'), { b: 2 });
    expect(p.intact()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(p.dir, 'config.json'), 'utf8'))).toEqual({ a: 1 });
    // the link at summary.json was replaced by the file, not written through
    expect(fs.lstatSync(path.join(p.dir, 'summary.json')).isSymbolicLink()).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(p.dir, 'summary.json'), 'utf8'))).toEqual({ b: 2 });
  });

  it('metrics.jsonl: a link at the file or its temp name; appends never follow a link', () => {
    const p = planted(['metrics.jsonl', 'metrics.jsonl.tmp']);
    const m = new Metrics(path.join(p.dir, 'metrics.jsonl'));
    m.write({ step: 1 });
    m.close();
    expect(p.intact()).toBe(true);
    expect(fs.readFileSync(path.join(p.dir, 'metrics.jsonl'), 'utf8')).toBe('{"step":1}\n');
    // a link planted after the file was made: resuming refuses to read or rewrite through it
    fs.rmSync(path.join(p.dir, 'metrics.jsonl'));
    fs.symlinkSync(p.decoy, path.join(p.dir, 'metrics.jsonl'));
    expect(() => new Metrics(path.join(p.dir, 'metrics.jsonl'), 5)).toThrow(/metrics.jsonl: is a symbolic link/);
    expect(() => openAppendSafe(path.join(p.dir, 'metrics.jsonl'))).toThrow(
      /metrics.jsonl: cannot open for appending \(it is a symbolic link/,
    );
    expect(p.intact()).toBe(true);
  });

  it('checkpoints: a link at the checkpoint is replaced, its target untouched', async () => {
    const p = planted(['checkpoint.safetensors']);
    const m = new Linear(2, 2);
    await saveCheckpoint(path.join(p.dir, 'checkpoint.safetensors'), { modules: m });
    expect(p.intact()).toBe(true);
    expect(fs.lstatSync(path.join(p.dir, 'checkpoint.safetensors')).isSymbolicLink()).toBe(false);
    m.dispose();
  });
});

describe('failed writes name the file and what was kept', () => {
  it('a full disk: the error names the file, the previous contents stay, no temp file is left', () => {
    const dir = tmp();
    const file = path.join(dir, 'summary.json');
    writeFileSafe(file, 'old');
    const spy = vi.spyOn(fs, 'writeFileSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    try {
      expect(() => writeFileSafe(file, 'new')).toThrow(
        /summary.json: not written \(ENOSPC: no space left on device\); the previous file is unchanged/,
      );
      expect(() => writeFileSafe(path.join(dir, 'fresh.json'), 'x')).toThrow(
        /fresh.json: not written .* no file was there before/,
      );
    } finally {
      spy.mockRestore();
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(leftovers(dir)).toEqual([]);
  });

  it('a non-finite first checkpoint does not claim a previous one was kept', async () => {
    const dir = tmp();
    const m = new Linear(2, 2);
    E.assign(m.weight, E.tensor([NaN, 0, 0, 0], [2, 2]));
    await expect(saveCheckpoint(path.join(dir, 'ck.safetensors'), { modules: m })).rejects.toThrow(
      /not written, non-finite values in weight .*; there was no previous checkpoint/,
    );
    m.dispose();
  });
});

describe('hostile sweep specs', () => {
  const script = 'experiments/toy_wgan.ts';
  const spec = (over: Record<string, unknown>) =>
    resolveSpec({}, { script, out: path.join(tmp(), 'sweep'), grid: { seed: [0] }, ...over } as never);

  it('a result file outside the run folder is refused (it marked every run finished)', () => {
    expect(() => spec({ result: '../../etc/hostname' })).toThrow(
      /result '..\/..\/etc\/hostname' must be a file name inside each run folder/,
    );
    expect(() => spec({ result: '/etc/hostname' })).toThrow(/must be a file name inside each run folder/);
    expect(() => spec({ outFlag: '; rm -rf' })).toThrow(/outFlag must be a flag/);
    expect(() => spec({ resumeFlag: '../x' })).toThrow(/resumeFlag must be a flag/);
    expect(() => spec({ result: 3 })).toThrow(/'result' must be a string/);
  });

  it('values become safe folder names inside runs/, long ones shortened with a hash', () => {
    expect(runName({ seed: '../../etc/hostname' })).toBe('seed-.._.._etc_hostname');
    const long = runName({ tag: 'x'.repeat(500) });
    expect(long.length).toBeLessThanOrEqual(160);
    const s = spec({ grid: { tag: ['../../etc/passwd', '/abs', 'x'.repeat(400)] } });
    for (const r of planRuns(s)) expect(path.dirname(r.dir)).toBe(path.join(path.resolve(s.cwd, s.out), 'runs'));
  });

  it('spec files: a huge or broken YAML value is not echoed back', () => {
    const dir = tmp();
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, `script: ${'a'.repeat(2 << 20)}\n`);
    expect(() => readSpecFile(big)).toThrow(/a spec is at most 1 MiB/);
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, `grid: {seed: [0, ${'x'.repeat(100_000)}\n`);
    let msg = '';
    try {
      readSpecFile(bad);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/not valid YAML/);
    expect(msg.length).toBeLessThan(400);
    expect(defaultSpec().result).toBe('summary.json');
  });
});
