/// <reference lib="dom" />
// The current batch's adversarial pairs x → x̂ = x + r_adv as arrows; pairs whose quotient
// |D(x) − D(x̂)| / ‖x − x̂‖ exceeds K (violations) are drawn on top in red. With ε up to 10 most
// arrows leave the frame: they are cut at its edge.
import { axes, COLORS, legend, mapper, prepare, type Frame } from './plot.js';

export function drawPairs(
  canvas: HTMLCanvasElement,
  d: { x: Float32Array; xHat: Float32Array; ratio: Float32Array; K: number; frame: Frame; batch: number },
): void {
  const { g, width, height } = prepare(canvas);
  const size = Math.min(width - 50, height - 50);
  const box = { left: 40, top: 26, width: size, height: size };
  g.fillStyle = '#fbfcfd';
  g.fillRect(box.left, box.top, box.width, box.height);
  const m = mapper(d.frame, box);
  const n = d.ratio.length;
  g.save();
  g.beginPath();
  g.rect(box.left, box.top, box.width, box.height);
  g.clip();
  const arrow = (i: number, color: string, alpha: number) => {
    const x0 = m.x(d.x[2 * i]),
      y0 = m.y(d.x[2 * i + 1]);
    const x1 = m.x(d.xHat[2 * i]),
      y1 = m.y(d.xHat[2 * i + 1]);
    g.globalAlpha = alpha;
    g.strokeStyle = color;
    g.fillStyle = color;
    g.beginPath();
    g.moveTo(x0, y0);
    g.lineTo(x1, y1);
    g.stroke();
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len > 6) {
      // the head at x̂ (off-frame heads are clipped away with the rest of the arrow)
      const ux = (x1 - x0) / len,
        uy = (y1 - y0) / len;
      g.beginPath();
      g.moveTo(x1, y1);
      g.lineTo(x1 - 7 * ux + 3.5 * uy, y1 - 7 * uy - 3.5 * ux);
      g.lineTo(x1 - 7 * ux - 3.5 * uy, y1 - 7 * uy + 3.5 * ux);
      g.closePath();
      g.fill();
    }
    g.globalAlpha = 1;
    g.fillRect(x0 - 1.5, y0 - 1.5, 3, 3);
  };
  g.lineWidth = 1;
  for (let i = 0; i < n; i++) if (!(d.ratio[i] > d.K)) arrow(i, i < d.batch ? COLORS.real : COLORS.fake, 0.35);
  g.lineWidth = 1.6;
  for (let i = 0; i < n; i++) if (d.ratio[i] > d.K) arrow(i, COLORS.violation, 0.9);
  g.restore();
  axes(g, d.frame, box);
  let v = 0;
  for (let i = 0; i < n; i++) if (d.ratio[i] > d.K) v++;
  legend(g, box.left, 12, [
    { color: COLORS.real, text: 'data' },
    { color: COLORS.fake, text: 'generated' },
    { color: COLORS.violation, text: `violation: ${v} / ${n}` },
  ]);
}
