// Work a replay of a captured step need not do. Dead commands: a step often computes values nobody
// keeps (a loss function's monitors when the caller only wants the loss, the diagnostics of every
// critic step but the last); eagerly those kernels run and their results are freed, a replay
// skips them. Constant commands: an elementwise map of constants (a fill of ones to seed a
// gradient, a map of that fill) writes the same values every time, into a buffer the step keeps
// reserved; the capture call already wrote them. Removing either changes no kept value, so the
// replay keeps its bits.
import { commandAccess, type Command } from './capture.js';

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
    const e = commandAccess(c);
    if (!e.writes.some((b) => needed.has(b))) continue;
    keep[i] = true;
    // what a later reader sees comes from here: earlier writes of an overwritten buffer are
    // not needed on its account (live state stays needed: it was also read before the step)
    for (const b of e.overwrites) if (!live.has(b)) needed.delete(b);
    for (const b of e.reads) needed.add(b);
  }
  return commands.filter((_, i) => keep[i]);
}

/**
 * Drops elementwise maps whose every input is a constant: fills, and maps of fills and of such
 * maps. Each one's output, in a step temporary that no other command writes, still holds what the
 * capture call wrote. `commands` must be everything the capture call ran (before dead commands are
 * dropped: a dead command reusing the buffer later in the call overwrote it too). Maps writing
 * live buffers (state, outputs) stay: the caller may change those.
 */
export function dropConstantCommands(commands: Command[], live: Set<GPUBuffer>): Command[] {
  const writers = new Map<GPUBuffer, number>();
  for (const c of commands) for (const b of commandAccess(c).writes) writers.set(b, (writers.get(b) ?? 0) + 1);
  const constant = new Set<GPUBuffer>();
  const drop = commands.map((c) => {
    if (c.kind !== 'dispatch' || !c.map || c.dynamic) return false;
    const out = c.map.out;
    if (live.has(out) || writers.get(out) !== 1 || !c.map.inputs.every((x) => constant.has(x.buffer))) return false;
    constant.add(out);
    return true;
  });
  return commands.filter((_, i) => !drop[i]);
}
