// One pass over every kernel family and layout (convolutions of every path, matmuls, norms,
// pools, elementwise layouts, multi-tensor Adam, second-order graphs): run it under each kernel
// variant and sync, and every WGSL variant has been compiled and validated on that device.
import * as E from '../../engine/web.js';

export function exerciseOps(): void {
  E.tidy(() => {
    const x = E.requireGrad(E.randNormal([2, 3, 9, 7]));
    const w = E.requireGrad(E.randNormal([5, 3, 3, 3]));
    const b = E.requireGrad(E.zeros([5]));
    const y = E.conv2d(x, w, b, { stride: 2, padding: 1 });
    const y1 = E.conv2d(x, E.randNormal([4, 3, 1, 1]), null, {});
    // >= 8 channels, 3x3, stride 1: the Winograd paths (F(2x2) small, F(4x4) large)
    const xw = E.requireGrad(E.randNormal([2, 8, 10, 10]));
    const ww = E.requireGrad(E.randNormal([8, 8, 3, 3]));
    const wino = E.conv2d(xw, ww, null, { padding: 1 });
    const xl = E.randNormal([4, 64, 32, 32]);
    const bigConv = E.conv2d(xl, E.randNormal([64, 64, 3, 3]), null, { padding: 1 });
    const bigGrads = [
      E.conv2dInputGrad(bigConv, E.randNormal([64, 64, 3, 3]), xl.shape, { padding: 1 }),
      E.conv2dWeightGrad(xl, bigConv, [64, 64, 3, 3], { padding: 1 }),
    ];
    const m = E.matmul(E.randNormal([3, 17, 9]), E.randNormal([9, 5]));
    const mt = E.matmul(E.randNormal([9, 17]), E.randNormal([5, 9]), { transA: true, transB: true });
    const big = E.matmul(E.randNormal([64, 64]), E.randNormal([64, 64]));
    const bn = E.batchNorm(y, null, null, E.zeros([5]), E.ones([5]), { training: true });
    const ln = E.layerNorm(y, [1, 2, 3], null, null);
    const pooled = E.avgPool2x2(E.upsampleNearest2x(y1));
    const loss = E.add(
      E.add(E.sum(E.square(bn)), E.sum(E.tanh(ln))),
      E.add(E.add(E.sum(m), E.sum(mt)), E.add(E.sum(big), E.mean(E.softmax(pooled, 1)))),
    );
    const [gx, gw] = E.grad(loss, [x, w], { createGraph: true });
    E.grad(E.add(E.sum(E.square(gx)), E.sum(gw)), [x, w, b]);
    E.grad(E.sum(E.square(wino)), [xw, ww]);
    E.grad(E.sum(E.square(E.indexSelect(xw, 0, [1, 0, 1]))), [xw]); // gather and its scatter-add
    void bigGrads;
    // linear's epilogue: vec4 and scalar outputs, with and without relu
    void [
      E.linear(E.randNormal([5, 6]), E.randNormal([8, 6]), E.randNormal([8]), { relu: true }),
      E.linear(E.randNormal([5, 6]), E.randNormal([7, 6]), E.randNormal([7])),
    ];
    const several = [w, b, E.randNormal([7]), E.randNormal([64]), E.randNormal([3, 5]), E.randNormal([9])];
    const adam = new E.Adam(several);
    adam.step(several.map((t) => E.onesLike(t))); // several tensors per dispatch
    adam.dispose();
    // elementwise layouts: vec4, four along the innermost dim (vec4 and strided loads), scalar
    void [
      E.add(E.randNormal([3, 8]), E.randNormal([8])),
      E.mul(E.transpose(E.randNormal([8, 4])), E.randNormal([4, 8])),
      E.sub(E.randNormal([3, 6]), E.randNormal([6])),
    ];
    const sgd = new E.SGD([b], { momentum: 0.9 });
    sgd.step([E.onesLike(b)]);
    sgd.dispose();
  });
}
