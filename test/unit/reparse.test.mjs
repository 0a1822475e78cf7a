// Incremental reparse (syntax/ reparseC): the tree from editing the old tree and parsing with
// it must be the tree a fresh parse of the new text gives: same S-expression, and the same
// type and positions for every node. On both backends, for single edits of every shape
// (insert, delete, replace; at the start, in the middle, at the end; across lines; with
// non-ASCII text and surrogate pairs; breaking the syntax and mending it) and for chains of
// random edits where each new tree is the next edit's old tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const api = require(path.join(root, 'dist/api.js'));
const example = fs.readFileSync(path.join(root, 'examples/psi_like_trigger.c'), 'utf8');

/** Every node, depth first: type and where it is. */
function shape(node, out = []) {
  out.push(`${node.type} ${node.startIndex}-${node.endIndex} ${node.startPosition.row}:${node.startPosition.column}-${node.endPosition.row}:${node.endPosition.column}`);
  for (const c of node.children) shape(c, out);
  return out;
}

function assertSameTree(got, fresh, what) {
  assert.ok(got.tree && fresh.tree, `${what}: both parsed`);
  assert.equal(api.treeSexp(got.tree), api.treeSexp(fresh.tree), `${what}: S-expression`);
  assert.deepEqual(shape(got.root), shape(fresh.root), `${what}: node positions`);
}

/** Runs `fn` on `backend`, then restores the backend found (run-all.mjs shares dist/api.js between test files). */
async function on(backend, fn) {
  const found = api.parserBackend() ?? (process.env.KERNLIFE_PARSER === 'wasm' ? 'wasm' : 'native');
  assert.equal((await api.initParser(backend)).backend, backend);
  try { fn(); } finally { await api.initParser(found); }
}

const SMALL = 'static int f(struct a *p)\n{\n\tkfree(p->x);\n\treturn 0;\n}\n';
const EDITS = [
  ['insert a statement', SMALL, SMALL.replace('\treturn 0;', '\tp->x = NULL;\n\treturn 0;')],
  ['delete a statement', SMALL, SMALL.replace('\tkfree(p->x);\n', '')],
  ['replace a name', SMALL, SMALL.replace('kfree', 'kvfree_rcu_mightsleep')],
  ['insert at the start', SMALL, `#include <linux/slab.h>\n${SMALL}`],
  ['append at the end', SMALL, `${SMALL}struct file_operations fops = { .release = f };\n`],
  ['delete everything', SMALL, ''],
  ['from nothing', '', SMALL],
  ['break the syntax', SMALL, SMALL.replace('kfree(p->x);', 'kfree(p->x;')],
  ['mend the syntax', SMALL.replace('kfree(p->x);', 'kfree(p->x;'), SMALL],
  ['non-ASCII before the edit', `/* é ü 日本 */\n${SMALL}`, `/* é ü 日本 */\n${SMALL.replace('0', '-1')}`],
  ['an emoji (surrogate pair) replaced by another', `// \u{1F600}\n${SMALL}`, `// \u{1F601}\n${SMALL}`],
  ['text inserted inside a surrogate pair boundary', `// \u{1F600}x\n${SMALL}`, `// \u{1F600}\u{1F600}x\n${SMALL}`],
  ['CRLF lines', SMALL.replace(/\n/g, '\r\n'), SMALL.replace(/\n/g, '\r\n').replace('return 0', 'return 1')],
  ['the same text', SMALL, SMALL],
  ['a whole function added to a real file', example, example.replace('\n\nvoid demo_trigger_destroy', '\n\nstatic void extra(void)\n{\n}\n\nvoid demo_trigger_destroy')],
  ['a real file cut in half', example, example.slice(0, example.length >> 1)],
];

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SNIPPETS = ['{', '}', ';', '\n', 'if (x) ', 'kfree(p);', ' /* c */ ', 'struct s *q = p->priv;\n', '#ifdef X\n', '"str"', 'ü', '\u{1F600}', '->', ')', '(', '\t'];

for (const backend of ['native', 'wasm']) {
  test(`reparse (${backend}): single edits give the fresh parse's tree`, () => on(backend, () => {
    for (const [what, oldText, newText] of EDITS) {
      const old = api.parseTree(oldText);
      const got = api.reparseC(old.tree, oldText, newText);
      assertSameTree(got, api.parseTree(newText), what);
    }
  }));

  test(`reparse (${backend}): chains of random edits on a real file`, () => on(backend, () => {
    const rand = rng(backend === 'native' ? 1 : 2);
    let text = example;
    let tree = api.parseTree(text).tree;
    for (let i = 0; i < 60; i++) {
      const at = Math.floor(rand() * (text.length + 1));
      const cut = rand() < 0.5 ? Math.floor(rand() * 40) : 0;
      const ins = rand() < 0.7 ? SNIPPETS[Math.floor(rand() * SNIPPETS.length)] : '';
      const next = text.slice(0, at) + ins + text.slice(Math.min(text.length, at + cut));
      const got = api.reparseC(tree, text, next);
      assertSameTree(got, api.parseTree(next), `edit ${i} at ${at} (-${cut} +${JSON.stringify(ins)})`);
      text = next;
      tree = got.tree;
    }
    api.releaseTree(tree);
  }));
}

test('textEdit: common prefix and suffix, rows and columns in string indices', () => {
  assert.deepEqual(api.textEdit('ab\ncd\nef', 'ab\ncXd\nef'), {
    startIndex: 4, oldEndIndex: 4, newEndIndex: 5,
    startPosition: { row: 1, column: 1 }, oldEndPosition: { row: 1, column: 1 }, newEndPosition: { row: 1, column: 2 },
  });
  assert.deepEqual(api.textEdit('aaa', 'aa'), {
    startIndex: 2, oldEndIndex: 3, newEndIndex: 2,
    startPosition: { row: 0, column: 2 }, oldEndPosition: { row: 0, column: 3 }, newEndPosition: { row: 0, column: 2 },
  });
  const same = api.textEdit('x\ny', 'x\ny');
  assert.equal(same.startIndex, same.oldEndIndex);
  assert.equal(same.startIndex, same.newEndIndex);
  // never inside a surrogate pair: U+1F600 and U+1F601 share their high surrogate
  const e = api.textEdit('a\u{1F600}b', 'a\u{1F601}b');
  assert.deepEqual([e.startIndex, e.oldEndIndex, e.newEndIndex], [1, 3, 3]);
  const f = api.textEdit('\u{1F600}', '\u{1F600}\u{1F600}');
  assert.ok(f.startIndex % 2 === 0 && f.oldEndIndex % 2 === 0 && f.newEndIndex % 2 === 0, JSON.stringify(f));
});
