// `npm run doctor`: which adapter the engine gets, its driver and limits, and a 3-line smoke test.
import {
  add,
  adapterName,
  dawnOptions,
  device,
  deviceInfo,
  initDevice,
  mul,
  releaseDevice,
  sum,
  tensor,
} from './index.js';
import { cachePath, isCpuAdapter } from './tune.js';

try {
  console.log(`Dawn options: [${dawnOptions().join(', ') || 'default'}]`);
  await initDevice();
  const i = deviceInfo();
  const l = device().limits;
  console.log(`adapter:      ${adapterName()}`);
  console.log(`vendor:       ${i.vendor} | architecture: ${i.architecture} | device: ${i.device}`);
  console.log(`driver:       ${i.description}`);
  console.log(
    `kind:         ${isCpuAdapter() ? 'CPU (software) adapter: register-blocked kernels preferred' : 'GPU adapter: workgroup-tiled kernels preferred'}`,
  );
  console.log(`features:     ${i.features.join(', ')}`);
  console.log(
    `limits:       workgroup storage ${l.maxComputeWorkgroupStorageSize} B, invocations ${l.maxComputeInvocationsPerWorkgroup}, storage binding ${l.maxStorageBufferBindingSize} B`,
  );
  console.log(`tuning cache: ${cachePath()}`);
  const v = await sum(mul(add(tensor([1, 2, 3]), 1), 2)).item();
  if (v !== 18) throw new Error(`smoke test computed ${v}, expected 18`);
  console.log('smoke test:   ok (sum((x + 1) * 2) = 18)');
  await releaseDevice();
} catch (e) {
  console.error(`doctor: ${(e as Error).message}`);
  process.exit(1);
}
