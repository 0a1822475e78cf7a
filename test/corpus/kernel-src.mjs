// Obtain (parts of) the real Linux 6.1 source tree as TEST INPUT.
//
// The source comes from Debian's `linux-source-6.1` package, which installs
// /usr/src/linux-source-6.1.tar.xz. Directories are extracted on demand into a
// cache dir outside the repository; kernel source is never copied into the repo.
//
//   KERNLIFE_KERNEL_CACHE    cache dir (default: <os.tmpdir()>/kernlife-kernel-6.1)
//   KERNLIFE_KERNEL_TARBALL  tarball  (default: /usr/src/linux-source-6.1.tar.xz)
//
// Node built-ins only.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TOP = 'linux-source-6.1';

export const DEFAULT_DIRS = Object.freeze([
  'fs',
  'kernel',
  'mm',
  'ipc',
  'io_uring',
  'drivers/android',
  'drivers/infiniband/core',
  'drivers/vfio',
  'drivers/char',
  'drivers/misc',
]);

export function tarballPath() {
  return process.env.KERNLIFE_KERNEL_TARBALL || `/usr/src/${TOP}.tar.xz`;
}

export function cacheDir() {
  return process.env.KERNLIFE_KERNEL_CACHE || path.join(os.tmpdir(), 'kernlife-kernel-6.1');
}

function normDir(d) {
  const n = path.posix.normalize(String(d).replace(/\\/g, '/')).replace(/\/+$/, '');
  if (!n || n === '.' || n.startsWith('/') || n === '..' || n.startsWith('../')) {
    throw new Error(`kernelTree: bad directory ${JSON.stringify(d)}`);
  }
  return n;
}

function stampFile(cache, dir) {
  return path.join(cache, '.stamps', dir.replace(/\//g, '__') + '.done');
}

// A dir counts as extracted if it, or any ancestor, has a completion stamp.
function isDone(cache, dir) {
  const parts = dir.split('/');
  for (let i = 1; i <= parts.length; i++) {
    if (fs.existsSync(stampFile(cache, parts.slice(0, i).join('/')))) return true;
  }
  return false;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => { err += b; });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${sig ?? code}): ${err.trim()}`));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

// Cross-process lock (node --test may run several test files in parallel).
async function withLock(cache, fn) {
  const lock = path.join(cache, '.lock');
  const deadline = Date.now() + 15 * 60 * 1000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = NaN;
      try { owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8')); } catch { /* racing */ }
      let age = 0;
      try { age = Date.now() - fs.statSync(lock).mtimeMs; } catch { continue; }
      // Stale: owner is gone, or no pid was ever written and it is old.
      if ((Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) || (!(owner > 0) && age > 60_000)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`kernelTree: timed out waiting for lock ${lock}`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Ensure `dirs` (paths relative to the kernel top dir) are extracted under the
 * cache dir; return the absolute `.../linux-source-6.1` root, or null when the
 * tarball is not installed.
 */
export async function kernelTree(dirs = DEFAULT_DIRS) {
  const tarball = tarballPath();
  if (!fs.existsSync(tarball)) return null;
  const cache = path.resolve(cacheDir());
  const root = path.join(cache, TOP);
  const wanted = [...new Set(dirs.map(normDir))];

  if (wanted.every((d) => isDone(cache, d))) return root;

  fs.mkdirSync(path.join(cache, '.stamps'), { recursive: true });
  await withLock(cache, async () => {
    // Re-check under the lock; another process may have done the work.
    const missing = wanted.filter((d) => !isDone(cache, d));
    // Drop dirs whose ancestor is also missing (it will be extracted whole).
    const todo = missing.filter((d) => !missing.some((o) => o !== d && d.startsWith(o + '/')));
    if (todo.length === 0) return;
    // Remove leftovers of an interrupted extraction, then extract everything
    // missing in ONE tar call (xz has to decompress the whole stream anyway).
    for (const d of todo) fs.rmSync(path.join(root, d), { recursive: true, force: true });
    const t0 = Date.now();
    process.stderr.write(`kernlife: extracting ${todo.join(' ')} from ${tarball} into ${cache} ...\n`);
    await run('tar', ['-xJf', tarball, '-C', cache, '--no-same-owner', ...todo.map((d) => `${TOP}/${d}`)]);
    for (const d of todo) {
      if (!fs.statSync(path.join(root, d), { throwIfNoEntry: false })?.isDirectory()) {
        throw new Error(`kernelTree: ${TOP}/${d} not found after extraction`);
      }
      fs.writeFileSync(stampFile(cache, d), `${new Date().toISOString()} ${tarball}\n`);
    }
    process.stderr.write(`kernlife: extraction done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });
  return root;
}
