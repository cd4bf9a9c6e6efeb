/// <reference lib="dom" />
// Browser entry of the portable suite (bundled by test/e2e/runtimes_node_deno_chromium.test.ts): runs on load, shows
// progress on the page and leaves the report in window.__report for the test to read.
import { runPortableSuite, type SuiteReport } from '../../../bench/conformance/suite.js';

declare global {
  interface Window {
    __report?: SuiteReport;
    __error?: string;
  }
}

const status = document.getElementById('status')!;
let n = 0;
runPortableSuite(undefined, (r) => {
  n++;
  status.textContent = `${n} checks run; last: ${r.group} / ${r.name} ${r.ok ? 'ok' : 'FAILED'}`;
  if (!r.ok) console.error(`FAIL ${r.group} / ${r.name}: ${r.detail}`);
})
  .then((report) => {
    status.textContent = `${report.passed} passed, ${report.failed} failed on ${report.adapter} in ${report.seconds.toFixed(1)} s`;
    window.__report = report;
  })
  .catch((e: Error) => {
    status.textContent = `error: ${e.message}`;
    window.__error = e.message;
  });
