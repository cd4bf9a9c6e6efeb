// Elementwise fusion over a captured step's commands (see fuseCommands).

/** What an elementwise map dispatch computes, recorded so the fusion pass can merge maps. */
export interface MapInfo {
  name: string;
  /** WGSL f32 expression in a, b, c (the inputs) and p0, p1 */
  expr: string;
  /** each input: its buffer, element strides over `shape`, element offset */
  inputs: { buffer: GPUBuffer; strides: number[]; offset: number; elements: number }[];
  shape: number[];
  p0: number;
  p1: number;
  out: GPUBuffer;
}

import type { Command } from './capture.js';

/** What fusion did to one captured step. */
export interface FusionReport {
  /** each fused kernel: the ops it merged (in order) and its WGSL */
  kernels: { ops: string[]; wgsl: string }[];
  dispatchesBefore: number;
  dispatchesAfter: number;
}

/**
 * Merges chains of elementwise maps in a captured step. `live` are the buffers whose contents
 * outlive the step (state, outputs): those are always written.
 */
export function fuseCommands(commands: Command[], live: Set<GPUBuffer>): { commands: Command[]; report: FusionReport } {
  void live;
  const n = commands.filter((c) => c.kind === 'dispatch').length;
  return { commands, report: { kernels: [], dispatchesBefore: n, dispatchesAfter: n } };
}
