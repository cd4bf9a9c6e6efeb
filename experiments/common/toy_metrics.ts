// Sample-based metrics for the 2-D toy GANs, computed on the host.

/**
 * Exact W1 between two equal-size point sets (uniform weights) = the optimal assignment cost
 * under Euclidean distance, by the Hungarian algorithm (O(n³); n of a few hundred is instant).
 */
export function exactW1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length / 2;
  if (b.length !== a.length) throw new Error(`exactW1: sets differ in size (${n} vs ${b.length / 2})`);
  // the assignment loop never ends on NaN costs (no column ever looks cheaper)
  for (const [name, set] of [
    ['first', a],
    ['second', b],
  ] as const) {
    for (let i = 0; i < set.length; i++) {
      if (!Number.isFinite(set[i]))
        throw new Error(`exactW1: the ${name} point set holds a non-finite coordinate (${set[i]} at index ${i})`);
    }
  }
  // every distance once: the assignment loop reads each O(n) times
  const costs = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) costs[i * n + j] = Math.hypot(a[2 * i] - b[2 * j], a[2 * i + 1] - b[2 * j + 1]);
  const cost = (i: number, j: number) => costs[i * n + j];
  // potentials u (rows), v (cols); p[j] = row matched to column j (1-based, 0 = none)
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Infinity);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  let total = 0;
  for (let j = 1; j <= n; j++) total += cost(p[j] - 1, j - 1);
  return total / n;
}

/** Modes hit by at least `minHits` samples within 3σ, and the fraction of samples within 3σ of any mode. */
export function modeCoverage(
  pts: ArrayLike<number>,
  modes: { centers: [number, number][]; std: number },
  minHits = 1,
): { covered: number; total: number; fractionNear: number } {
  const hits = new Array(modes.centers.length).fill(0);
  let near = 0;
  const r = 3 * modes.std;
  for (let i = 0; i < pts.length / 2; i++) {
    let best = -1;
    let bestD = Infinity;
    modes.centers.forEach(([cx, cy], k) => {
      const d = Math.hypot(pts[2 * i] - cx, pts[2 * i + 1] - cy);
      if (d < bestD) [bestD, best] = [d, k];
    });
    if (bestD <= r) {
      near++;
      hits[best]++;
    }
  }
  return {
    covered: hits.filter((h) => h >= minHits).length,
    total: modes.centers.length,
    fractionNear: near / (pts.length / 2),
  };
}
