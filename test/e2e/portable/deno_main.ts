// Deno entry of the portable suite (bundled by test/e2e/runtimes_node_deno_chromium.test.ts): prints the report as JSON.
import { runPortableSuite } from '../../../bench/conformance/suite.js';

const report = await runPortableSuite(undefined, (r) => {
  if (!r.ok) console.error(`FAIL ${r.group} / ${r.name}: ${r.detail}`);
});
console.log(JSON.stringify(report));
