// Runs one peer in its own process (its own device, or its own CPU threads) and collects its rows.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INFO_MARK, ROW_MARK, type Impl, type PeerInfo, type Row } from '../harness.js';
import type { Workload } from '../suites/workloads.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface PeerResult {
  rows: Row[];
  info: PeerInfo | null;
  /** set when the peer could not run at all */
  skipped?: string;
}

/**
 * PyTorch's environment: 1 thread (its default here) or 2 ('-2t'), and threads that sleep rather
 * than spin while waiting, so they leave the cores to whatever runs between two of its steps.
 * OpenBLAS (Debian's torch takes its matmul from it) keeps a thread pool of its own that
 * torch.set_num_threads does not reach: left alone, the "1 thread" peer multiplied on both cores,
 * and its idle worker spun for ~100 ms after every product, holding a core through our next
 * timed step.
 */
export function torchEnv(peer: 'pytorch-cpu' | 'pytorch-cpu-2t'): Record<string, string> {
  const threads = peer === 'pytorch-cpu-2t' ? '2' : '1';
  return {
    BENCH_TORCH_THREADS: threads,
    BENCH_TORCH_IMPL: peer,
    OMP_WAIT_POLICY: 'passive',
    OPENBLAS_NUM_THREADS: threads,
    // the shortest spin OpenBLAS allows (2^4 cycles) before its workers sleep
    OPENBLAS_THREAD_TIMEOUT: '4',
  };
}

function command(
  peer: Exclude<Impl, 'ours'>,
  specFile: string,
  quick: boolean,
  budget: number,
): [string, string[], Record<string, string>?] | string {
  const common = ['--spec', specFile, '--budget', String(budget), ...(quick ? ['--quick'] : [])];
  if (peer === 'pytorch-cpu' || peer === 'pytorch-cpu-2t') {
    if (!fs.existsSync(PYTHON)) return `${PYTHON} not found (install Debian's python3 and python3-torch)`;
    return [PYTHON, [path.join(here, 'torch_bench.py'), ...common], torchEnv(peer)];
  }
  for (const pkg of [
    '@tensorflow/tfjs-core',
    peer === 'tfjs-wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-webgpu',
  ]) {
    if (!fs.existsSync(path.join(here, '..', '..', 'node_modules', pkg)))
      return `${pkg} is not installed (npm install)`;
  }
  return [
    process.execPath,
    ['--import', 'tsx', path.join(here, 'tfjs.ts'), '--backend', peer === 'tfjs-wasm' ? 'wasm' : 'webgpu', ...common],
  ];
}

/** Runs the peer over `work`; rows it never reported are marked with the reason it stopped. */
export async function runPeer(
  peer: Exclude<Impl, 'ours'>,
  work: Workload[],
  opts: { quick: boolean; budget: number; log: (s: string) => void },
): Promise<PeerResult> {
  const specFile = path.join(os.tmpdir(), `alr-bench-spec-${process.pid}-${peer}.json`);
  fs.writeFileSync(specFile, JSON.stringify(work));
  const cmd = command(peer, specFile, opts.quick, opts.budget);
  if (typeof cmd === 'string') return { rows: [], info: null, skipped: cmd };
  const rows: Row[] = [];
  let info: PeerInfo | null = null;
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(cmd[0], cmd[1], {
      cwd: path.join(here, '..', '..'),
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...cmd[2] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // a hung peer must not hang the suite: its budget plus half an hour (targets ignore the budget)
    const killer = setTimeout(() => child.kill('SIGKILL'), (opts.budget + 1800) * 1000);
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith(ROW_MARK)) {
          const r = JSON.parse(line.slice(ROW_MARK.length)) as Row;
          rows.push(r);
          opts.log(`  ${peer}: ${r.workload}: ${r.ms !== undefined ? `${r.ms.toFixed(2)} ms` : r.skipped}`);
        } else if (line.startsWith(INFO_MARK)) info = JSON.parse(line.slice(INFO_MARK.length)) as PeerInfo;
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('error', (e) => {
      stderr += e.message;
      resolve(-1);
    });
    child.on('close', (c) => {
      clearTimeout(killer);
      resolve(c);
    });
  });
  fs.rmSync(specFile, { force: true });
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim() && !/^Warning: max/.test(l));
  const lastErr = (lines.find((l) => /Error|error:/.test(l)) ?? lines[lines.length - 1] ?? '').trim();
  if (code === 3 && peer.startsWith('pytorch'))
    return { rows: [], info: null, skipped: lastErr || 'torch is not importable' };
  if (code !== 0) {
    const why = `peer exited with code ${code}${lastErr ? `: ${lastErr}` : ''}`;
    for (const w of work)
      if (!rows.some((r) => r.workload === w.id))
        rows.push({ workload: w.id, group: w.group, impl: peer, skipped: why });
    return { rows, info, skipped: rows.every((r) => r.ms === undefined) ? why : undefined };
  }
  return { rows, info };
}
