import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { chosenVariant, isCpuAdapter, pick } from '../../../engine/tune.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

describe('kernel variant tuner', () => {
  it('times every candidate variant once per shape class, caches the winner in a file, then uses it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tune-'));
    process.env.ALR_TUNE = '1';
    process.env.ALR_TUNE_CACHE = path.join(dir, 'variants.json');
    try {
      const launched: string[] = [];
      const x = E.randUniform([1 << 14]);
      // 'slow' does 30x the work of 'fast'; both write the same result
      const launch = (v: string, onTime?: (ns: number) => void) => {
        launched.push(v);
        E.tidy(() => {
          let y = x;
          for (let i = 0; i < (v === 'slow' ? 30 : 1); i++) y = E.exp(E.mul(y, 0.5));
        });
        void onTime; // the real ops pass onTime to dispatch; here the last dispatch is not timed
      };
      // a launch that reports fake times through the dispatch callback path
      const variants = [
        { name: 'slow', cpu: true },
        { name: 'fast', cpu: true },
      ];
      const timedLaunch = (v: string, onTime?: (ns: number) => void) => {
        launch(v);
        onTime?.(v === 'slow' ? 3e6 : 1e5);
      };
      pick('testop', 'class-a', variants, timedLaunch);
      expect(launched.filter((v) => v === 'slow').length).toBe(3);
      expect(launched.filter((v) => v === 'fast').length).toBe(3);
      await E.sync();
      expect(chosenVariant('testop', 'class-a', ['slow', 'fast'], 'slow')).toBe('fast');
      const saved = JSON.parse(fs.readFileSync(process.env.ALR_TUNE_CACHE, 'utf8'));
      expect(Object.values(saved)[0]).toEqual({ 'testop[slow,fast]:class-a': 'fast' });
      // a choice measured among other variants does not carry over to a new set (measured again)
      expect(chosenVariant('testop', 'class-a', ['slow', 'fast', 'new'], 'slow')).toBe('slow');
      launched.length = 0;
      expect(pick('testop', 'class-a', variants, timedLaunch)).toBe('fast');
      expect(launched).toEqual(['fast']);
      // a variant only a little faster than the heuristic's choice (the first one for this class
      // of adapter: 'slow') does not replace it: that much is within a loaded machine's noise
      const heuristic = 'slow';
      const close = (v: string, onTime?: (ns: number) => void) => {
        launch(v);
        onTime?.(v === heuristic ? 1e6 : 0.95e6);
      };
      pick('testop', 'class-b', variants, close);
      await E.sync();
      expect(chosenVariant('testop', 'class-b', ['slow', 'fast'], 'none')).toBe(heuristic);
      // a GPU kernel (cpu: false) is not even timed on a CPU adapter; a GPU times every variant
      const mixed = [...variants, { name: 'gpuOnly', cpu: false }];
      launched.length = 0;
      pick('testop', 'class-c', mixed, timedLaunch);
      await E.sync();
      if (isCpuAdapter()) {
        expect(launched.filter((v) => v === 'gpuOnly').length).toBe(0);
        expect(chosenVariant('testop', 'class-c', ['slow', 'fast'], 'none')).toBe('fast');
      } else {
        expect(launched.filter((v) => v === 'gpuOnly').length).toBe(3);
      }
      // forcing beats the cache, and reaches every variant, candidate or not
      process.env.ALR_VARIANT_TESTOP = 'slow';
      expect(pick('testop', 'class-a', variants, timedLaunch)).toBe('slow');
      process.env.ALR_VARIANT_TESTOP = 'gpuOnly';
      launched.length = 0;
      expect(pick('testop', 'class-c', mixed, timedLaunch)).toBe('gpuOnly');
      expect(launched).toEqual(['gpuOnly']);
      process.env.ALR_VARIANT_TESTOP = 'nope';
      expect(() => pick('testop', 'class-a', variants, timedLaunch)).toThrow(
        /ALR_VARIANT_TESTOP=nope is not one of slow, fast/,
      );
    } finally {
      delete process.env.ALR_VARIANT_TESTOP;
      process.env.ALR_TUNE = '0';
      delete process.env.ALR_TUNE_CACHE;
    }
  });

  it('real GPU timings arrive for a matmul shape class', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tune-'));
    process.env.ALR_TUNE = '1';
    process.env.ALR_TUNE_CACHE = path.join(dir, 'variants.json');
    try {
      const a = E.randUniform([48, 40]);
      const b = E.randUniform([40, 24]);
      const c = E.matmul(a, b);
      await c.toArray();
      await E.flush();
      const { settleTimings } = await import('../../../engine/runtime.js');
      await settleTimings();
      const saved = JSON.parse(fs.readFileSync(process.env.ALR_TUNE_CACHE, 'utf8'));
      const entries = Object.entries(Object.values(saved)[0] as Record<string, string>);
      expect(entries.length).toBe(1);
      expect(entries[0][0]).toMatch(/^matmul\[/);
      expect(['register', 'tiled', 'subgroup', 'subgroup-uniform']).toContain(entries[0][1]);
    } finally {
      process.env.ALR_TUNE = '0';
      delete process.env.ALR_TUNE_CACHE;
    }
  });
});
