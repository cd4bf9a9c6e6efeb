// The playground's bundler setup: the page's sources import the engine, nn and alr straight from
// the repository (no build of the library first); the output is a static folder with relative
// paths, so it can be served from any directory of any host.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

/**
 * engine/web.ts wires the ops into autograd when it is evaluated. package.json's "sideEffects"
 * names only the built dist/ files, so without this the bundler would treat the source module
 * as pure and drop that wiring (grad() then fails with "ops not loaded").
 */
const engineEntryHasSideEffects: Plugin = {
  name: 'engine-entry-side-effects',
  transform(code, id) {
    if (path.resolve(id.split('?')[0]) === path.join(repo, 'engine', 'web.ts'))
      return { code, map: null, moduleSideEffects: true };
    return null;
  },
};

export default defineConfig({
  plugins: [engineEntryHasSideEffects],
  root: here,
  base: './',
  clearScreen: false,
  server: { host: '127.0.0.1', fs: { allow: [repo] } },
  preview: { host: '127.0.0.1' },
  build: { outDir: path.join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1024 },
});
