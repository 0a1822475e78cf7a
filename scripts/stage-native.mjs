// Stage the native parser for the .vsix: dist/server.js keeps tree-sitter and tree-sitter-c
// external (both locate their binary relative to their own package with node-gyp-build), so
// their runtime files are copied to dist/node_modules/, where Node's resolution from dist/ finds
// them first. Only runtime files: no sources, no build/ (node-gyp-build would prefer a build/
// folder on every OS). The upstream linux-x64 tree-sitter prebuild needs GLIBCXX_3.4.31 (GCC 13),
// which Debian 12 and Ubuntu 22.04 lack; when npm compiled tree-sitter from source at install,
// that binary (GLIBCXX 3.4.29 here) replaces it. See ../../shared/design/e2e.md, section 2.
// The wasm fallback (server/src/syntax/wasm.ts, for where no native binary loads) is staged
// too: web-tree-sitter's CommonJS build with its runtime wasm beside it, and the grammar's
// tree-sitter-c.wasm in the tree-sitter-c package, where the server looks for it.
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const nm = path.join(root, 'node_modules');
const out = path.join(root, 'dist', 'node_modules');
fs.rmSync(out, { recursive: true, force: true });

const copy = (pkg, rel) => {
  const from = path.join(nm, pkg, rel);
  if (!fs.existsSync(from)) throw new Error(`stage-native: ${pkg}/${rel} missing (npm ci first)`);
  const to = path.join(out, pkg, rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
};
for (const f of ['package.json', 'LICENSE', 'index.js', 'prebuilds']) copy('tree-sitter', f);
for (const f of ['package.json', 'LICENSE', 'bindings/node/index.js', 'src/node-types.json', 'prebuilds', 'tree-sitter-c.wasm']) copy('tree-sitter-c', f);
for (const f of ['package.json', 'LICENSE', 'tree-sitter.cjs', 'tree-sitter.wasm']) copy('web-tree-sitter', f);
for (const f of ['package.json', 'LICENSE', 'index.js', 'node-gyp-build.js']) copy('node-gyp-build', f);

const local = path.join(nm, 'tree-sitter', 'build', 'Release', 'tree_sitter_runtime_binding.node');
if (process.platform === 'linux' && process.arch === 'x64' && fs.existsSync(local)) {
  fs.copyFileSync(local, path.join(out, 'tree-sitter', 'prebuilds', 'linux-x64', 'tree-sitter.node'));
  console.log('stage-native: linux-x64 tree-sitter binary: the one built at install time');
} else {
  console.log('stage-native: linux-x64 tree-sitter binary: upstream prebuild (needs GLIBCXX_3.4.31)');
}
let files = 0;
const count = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? count(path.join(d, e.name)) : files++; };
count(out);
console.log(`stage-native: ${files} files in dist/node_modules`);
