// Prints the default adapter as JSON ({"adapter": name, "software": bool}) and exits: the local
// backend runs this in a child process to size its worker pool, so the sweep process itself never
// holds a GPU device for the hours a sweep lasts.
import { adapterName, initDevice, releaseDevice } from '../../engine/index.js';
import { isCpuAdapter } from '../../engine/tune.js';

await initDevice();
console.log(JSON.stringify({ adapter: adapterName(), software: isCpuAdapter() }));
await releaseDevice();
