/// <reference lib="dom" />
// The probe's result as a table: one row per search setting, grouped by cost in critic passes,
// with bars for the detection rates so settings of equal cost compare at a glance.
import type { ProbeReport } from '../probe.js';

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)}%` : '–');
const num = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');

function bar(v: number, color: string): string {
  const w = Number.isFinite(v) ? Math.round(60 * Math.min(1, Math.max(0, v))) : 0;
  return `<span class="bar" style="width:${w}px;background:${color}"></span> ${pct(v)}`;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function renderProbe(el: HTMLElement, r: ProbeReport): void {
  const rows = [...r.rows].sort((a, b) => a.cost - b.cost || (a.scheme === 'paper' ? -1 : 1));
  let lastCost = -1;
  const body = rows
    .map((x) => {
      const group = x.cost !== lastCost ? ' class="group"' : '';
      lastCost = x.cost;
      return (
        `<tr${group}><td class="${x.scheme === 'paper' ? 'paper' : ''}">${esc(x.name)}</td><td>${x.forward}+${x.backward} = ${x.cost}</td>` +
        `<td>${bar(x.detectionRate, '#1f5fbf')}</td><td>${bar(x.detectionRateAtEps, '#16a085')}</td>` +
        `<td>${num(x.cosGrad)}</td><td>${num(x.fractionOfTruthAtEps)}</td><td>${x.ms.toFixed(0)}</td></tr>`
      );
    })
    .join('');
  el.innerHTML =
    `<p class="caption">Iteration ${r.iter}, ${r.points} points (half data, half generated), ξ = ${r.xi}, ${esc(r.eps)}, K = ${r.K}. ` +
    `Ground truth: ${r.trueViolations} points have a quotient &gt; K somewhere (radii 0.1–10), ${r.violationsAtEps} at their own ε; ` +
    `max quotient ${num(r.maxQuotient)}, mean ‖∇f‖ ${num(r.meanGradNorm)}. Took ${(r.ms / 1000).toFixed(1)} s.</p>` +
    '<table><thead><tr><th>search</th><th>passes (fwd+bwd)</th><th>detects (sup)</th><th>detects at ε</th><th>|cos ∇f|</th><th>q / truth at ε</th><th>ms</th></tr></thead>' +
    `<tbody>${body}</tbody></table>`;
}
