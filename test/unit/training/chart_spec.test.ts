// Line charts a reviewer can read: whole-number ticks on integer axes, no band below zero for a
// quantity that never is, bands under their lines, and a legend drawn as lines.
import { describe, expect, it } from 'vitest';
import { lineChartSpec } from '../../../experiments/training/chart.js';

type Layer = { mark: { type: string }; encoding: Record<string, { axis?: unknown; legend?: unknown }> };

describe('lineChartSpec', () => {
  const spec = (x: number[], y: number[], spread: number[]) =>
    lineChartSpec([{ name: 'a', x, y, spread }], { title: 't', xTitle: 'iteration', yTitle: 'count' }) as unknown as {
      layer: Layer[];
      data: { values: { lo: number; hi: number }[] };
    };

  it('integer x gets whole-number ticks; fractional x does not', () => {
    expect(spec([0, 100, 200], [1, 2, 3], [1, 1, 1]).layer[1].encoding.x.axis).toEqual({ format: 'd', tickMinStep: 1 });
    expect(spec([0, 0.5, 1], [1, 2, 3], [1, 1, 1]).layer[1].encoding.x.axis).toBeUndefined();
  });

  it('a never-negative series gets no band below zero; a signed one keeps its band', () => {
    expect(Math.min(...spec([0, 1], [0.5, 1], [2, 2]).data.values.map((r) => r.lo))).toBe(0);
    expect(Math.min(...spec([0, 1], [-0.5, 1], [2, 2]).data.values.map((r) => r.lo))).toBe(-2.5);
  });

  it('bands are drawn first, lines over them, the legend as lines', () => {
    const s = spec([0, 1], [1, 2], [1, 1]);
    expect(s.layer.map((l) => l.mark.type)).toEqual(['area', 'line']);
    expect(s.layer[1].encoding.color.legend).toMatchObject({ symbolType: 'stroke', symbolOpacity: 1 });
  });
});
