// PyTorch's critic steps on request (torch_bench.py --serve), so that bench/run.ts times them in
// the same rounds as ours: on a shared machine a slow spell then slows both alike, and "ours vs
// PyTorch" means the same thing as "ALP vs GP". The process sleeps on stdin between requests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INFO_MARK } from '../harness.js';
import { torchEnv } from './spawn.js';
import type { Workload } from '../suites/workloads.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const REPLY_MARK = '@@bench-reply ';

type Reply = { ok?: boolean; ms?: number[]; error?: string };

export class TorchSteps {
  private buf = '';
  private waiting: ((r: Reply) => void)[] = [];
  private stderr = '';
  private exited: string | null = null;
  private started: (why: string | null) => void = () => undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => this.read(d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    child.on('close', (code) => {
      this.exited = `the PyTorch peer exited (code ${code})${this.lastError() ? `: ${this.lastError()}` : ''}`;
      for (const w of this.waiting.splice(0)) w({ error: this.exited });
      this.started(this.exited);
    });
  }

  /** Starts the server; a string says why PyTorch is unavailable. */
  static async start(impl: 'pytorch-cpu' | 'pytorch-cpu-2t' = 'pytorch-cpu'): Promise<TorchSteps | string> {
    if (!fs.existsSync(PYTHON)) return `${PYTHON} not found (install Debian's python3 and python3-torch)`;
    const child = spawn(PYTHON, [path.join(here, 'torch_bench.py'), '--serve'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...torchEnv(impl) },
    });
    const s = new TorchSteps(child);
    const why = await new Promise<string | null>((resolve) => (s.started = resolve)); // its info line, or its exit
    return why ?? s;
  }

  private lastError(): string {
    const lines = this.stderr.trim().split('\n').filter(Boolean);
    return (lines.find((l) => /Error|error:|not importable/.test(l)) ?? lines[lines.length - 1] ?? '').trim();
  }

  private read(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      // its info line says it is up (the regular PyTorch peer reports the same info)
      if (line.startsWith(INFO_MARK)) this.started(null);
      else if (line.startsWith(REPLY_MARK)) this.waiting.shift()?.(JSON.parse(line.slice(REPLY_MARK.length)) as Reply);
    }
  }

  private request(cmd: object): Promise<Reply> {
    if (this.exited) return Promise.resolve({ error: this.exited });
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }

  private async ok(cmd: object): Promise<Reply> {
    const r = await this.request(cmd);
    if (r.error) throw new Error(`pytorch-cpu: ${r.error}`);
    return r;
  }

  async prepare(key: string, workloads: Workload[]): Promise<void> {
    await this.ok({ op: 'prepare', key, workloads });
  }

  /** One step of each prepared workload, in order: PyTorch's own wall time per step, ms. */
  async round(key: string): Promise<number[]> {
    return (await this.ok({ op: 'round', key })).ms!;
  }

  async drop(key: string): Promise<void> {
    await this.ok({ op: 'drop', key });
  }

  close(): void {
    this.child.stdin.end();
  }
}
