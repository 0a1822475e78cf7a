// Bundles the three entry points (and the test-facing API) into dist/.
// tree-sitter and tree-sitter-c stay external: both load their native binding relative to
// their own package directory (node-gyp-build), which a bundle would break. web-tree-sitter
// (the wasm fallback) stays external too: its runtime finds tree-sitter.wasm next to its own
// .cjs, and the grammar's wasm is in tree-sitter-c; scripts/stage-native.mjs stages all three.
import * as esbuild from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  loader: { '.scm': 'text' },
  external: ['tree-sitter', 'tree-sitter-c', 'web-tree-sitter', 'vscode'],
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['server/src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } }),
  esbuild.build({ ...common, entryPoints: ['server/src/lsp/main.ts'], outfile: 'dist/server.js' }),
  esbuild.build({ ...common, entryPoints: ['server/src/cli/sim-worker.ts'], outfile: 'dist/sim-worker.js' }),
  esbuild.build({ ...common, entryPoints: ['server/src/cli/extract-worker.ts'], outfile: 'dist/extract-worker.js' }),
  esbuild.build({ ...common, entryPoints: ['client/src/extension.ts'], outfile: 'dist/client.js' }),
  esbuild.build({ ...common, entryPoints: ['server/src/api.ts'], outfile: 'dist/api.js' }),
]);
