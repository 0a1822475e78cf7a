// `npm test` entry: every test file that needs no editor. The real-kernel corpus test is last.
await import('./unit/terms.test.mjs');
await import('./unit/normalize.test.mjs');
await import('./unit/index.test.mjs');
await import('./unit/config.test.mjs');
await import('./unit/sim.test.mjs');
await import('./unit/architecture.test.mjs');
await import('./unit/cli.test.mjs');
await import('./unit/check-cli.test.mjs');
await import('./unit/lsp.test.mjs');
await import('./unit/fixes.test.mjs');
await import('./unit/nvim.test.mjs');
await import('./fixtures/fixtures.test.mjs');
await import('./fixtures/rules.test.mjs');
await import('./corpus/corpus.test.mjs');
await import('./corpus/psi.test.mjs');
await import('./corpus/psi-check.test.mjs');
await import('./corpus/knowledge.test.mjs');
