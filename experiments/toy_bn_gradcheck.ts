// Diagnostic for A.4 with BatchNorm: compares three input-gradient norms of a trained regressor
// at 1024 U[-4, 4]² points: (a) autograd through train-mode batch statistics (what LP penalises),
// (b) per-sample finite differences in train mode, each perturbed batch normalised by its own
// statistics (what ALP's difference quotient sees), (c) autograd in eval mode (the heat maps).
//   npx tsx experiments/toy_bn_gradcheck.ts <run dir with checkpoint.safetensors> [...]
import fs from 'node:fs';
import path from 'node:path';
import * as E from '../engine/index.js';
import { lipschitzRegressor, loadCheckpoint, withoutStatUpdates } from '../nn/index.js';
import { main } from './training/run.js';

const stats = (v: Float32Array) => {
  let s = 0,
    mx = 0,
    above = 0;
  for (const x of v) {
    s += x;
    mx = Math.max(mx, x);
    if (x > 1.05) above++;
  }
  return `mean ${(s / v.length).toFixed(3)} max ${mx.toFixed(3)} frac>1.05 ${(above / v.length).toFixed(3)}`;
};

const USAGE =
  'usage: npx tsx experiments/toy_bn_gradcheck.ts <run folder>...  (folders of lipschitz_regression runs with --bn, holding checkpoint.safetensors)';
const dirs = process.argv.slice(2);
if (dirs.includes('--help') || dirs.includes('-h') || dirs.length === 0) {
  console.log(USAGE);
  process.exit(dirs.length === 0 ? 1 : 0);
}
const flag = dirs.find((d) => d.startsWith('-'));
if (flag) {
  console.error(`toy_bn_gradcheck: unknown option '${flag}'; it takes run folders only (--help for usage)`);
  process.exit(1);
}
await main(async () => {
  for (const dir of dirs) {
    if (!fs.existsSync(path.join(dir, 'checkpoint.safetensors')))
      throw new Error(`toy_bn_gradcheck: no checkpoint.safetensors in '${dir}'`);
    const model = lipschitzRegressor({ batchNorm: true });
    const opt = new E.Adam(model.parameters()); // the checkpoint holds Adam moments too
    await loadCheckpoint(path.join(dir, 'checkpoint.safetensors'), {
      modules: model,
      optimizers: { model: opt },
      rng: false,
    });
    E.manualSeed(123);
    const h = 1e-3;
    const out = E.tidy(() =>
      withoutStatUpdates(() => {
        const x = E.randUniform([1024, 2], -4, 4);
        const xl = E.requireGrad(E.detach(x));
        const [g] = E.grad(E.sum(model.forward(xl)), [xl]);
        const y0 = E.noGrad(() => model.forward(x));
        // a random unit direction per sample and its perpendicular: a shared shift would be
        // removed by BN's batch mean, per-sample directions are not
        const r = E.noGrad(() => E.normalizePerSample(E.randNormal([1024, 2])));
        const rp = E.noGrad(() =>
          E.mul(E.concat([E.slice(r, 1, 1, 2), E.slice(r, 1, 0, 1)], 1), E.tensor(new Float32Array([-1, 1]), [1, 2])),
        );
        const fd = [r, rp].map((d) => E.noGrad(() => E.div(E.sub(model.forward(E.add(x, E.mul(d, h))), y0), h)));
        model.eval();
        const xe = E.requireGrad(E.detach(x));
        const [ge] = E.grad(E.sum(model.forward(xe)), [xe]);
        model.train();
        return { a: E.perSampleNorm(g), b: E.sqrt(E.add(E.square(fd[0]), E.square(fd[1]))), c: E.perSampleNorm(ge) };
      }),
    );
    const [a, b, c] = await Promise.all([out.a.toFloat32(), out.b.toFloat32(), out.c.toFloat32()]);
    console.log(
      `${path.basename(dir)}\n  (a) autograd, train-mode batch stats: ${stats(a)}\n  (b) per-sample finite diff, train mode: ${stats(b)}\n  (c) autograd, eval mode:               ${stats(c)}`,
    );
    E.dispose(out);
    model.dispose();
    opt.dispose();
  }
});
