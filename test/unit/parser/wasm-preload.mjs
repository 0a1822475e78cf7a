// `node --import test/unit/parser/wasm-preload.mjs FILE.test.mjs`: loads dist/api.js and
// initialises its parser from KERNLIFE_PARSER before the test file runs, so a test file that
// calls the synchronous api (extract, ...) runs on that backend. The test file's own
// require('../../dist/api.js') gets this same module instance.
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const api = require(path.resolve(new URL('../../..', import.meta.url).pathname, 'dist/api.js'));
const want = process.env.KERNLIFE_PARSER;
const got = await api.initParser();
if (want && got.backend !== want) throw new Error(`wasm-preload: asked for ${want}, got ${got.backend}`);
process.stderr.write(`parser: ${got.info}\n`);
