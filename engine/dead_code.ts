// Dead-command elimination over a captured step. A step often computes values nobody keeps: a
// loss function's monitors when the caller only wants the loss, the diagnostics of every critic
// step but the last. Eagerly those kernels run and their results are freed; a replay need not
// run them at all. A command is dead when nothing it writes is read by a later kept command or
// outlives the step. Removing it changes no kept value, so the replay keeps its bits.
import type { Command } from './capture.js';

/**
 * Which buffers a command reads, and which it overwrites entirely (its previous contents do not
 * matter to anyone after it). A kernel that writes only part of a binding (an in-place update, a
 * copy into an offset) counts that binding as read too, so its earlier writer stays.
 */
function effects(c: Command): { reads: GPUBuffer[]; writes: GPUBuffer[]; overwrites: Set<GPUBuffer> } {
  if (c.kind === 'effect') return { reads: [], writes: [], overwrites: new Set() };
  if (c.kind === 'copy') {
    const whole = c.dstOffset === 0 && c.bytes >= c.dst.size;
    return { reads: whole ? [c.src] : [c.src, c.dst], writes: [c.dst], overwrites: new Set(whole ? [c.dst] : []) };
  }
  const pure = c.map?.out ?? c.reduce?.out ?? c.stores?.out;
  const reads: GPUBuffer[] = [];
  const writes: GPUBuffer[] = [];
  c.kernel.bindings.forEach((a, i) => {
    const b = c.bindings[i].buffer;
    if (a === 'write') writes.push(b);
    if (a === 'read' || b !== pure) reads.push(b);
  });
  return { reads, writes, overwrites: new Set(pure ? [pure] : []) };
}

/**
 * The commands that matter: walking backward from the end of the step, a dispatch or copy is kept
 * when it writes a buffer in `live` (state and outputs, which outlive the step) or one a kept
 * command after it reads. Host effects are always kept (they advance host state every replay).
 */
export function eliminateDeadCommands(commands: Command[], live: Set<GPUBuffer>): Command[] {
  const needed = new Set(live);
  const keep: boolean[] = new Array(commands.length).fill(false);
  for (let i = commands.length - 1; i >= 0; i--) {
    const c = commands[i];
    if (c.kind === 'effect') {
      keep[i] = true;
      continue;
    }
    const e = effects(c);
    if (!e.writes.some((b) => needed.has(b))) continue;
    keep[i] = true;
    // what a later reader sees comes from here: earlier writes of an overwritten buffer are
    // not needed on its account (live state stays needed: it was also read before the step)
    for (const b of e.overwrites) if (!live.has(b)) needed.delete(b);
    for (const b of e.reads) needed.add(b);
  }
  return commands.filter((_, i) => keep[i]);
}
