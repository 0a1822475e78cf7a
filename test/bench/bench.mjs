#!/usr/bin/env node
// kernlife benchmark on the real Linux 6.1 source (/usr/src/linux-source-6.1.tar.xz).
//
//   npm run bench [-- [--jobs N] [--spatch-full] [--keep] [SUBTREE...]]     default SUBTREE: fs
//   npm run bench -- --whole [--jobs N]                                       whole tree, tables only
//
// One run measures, on the same files and one after another:
//   parse-only  test/bench/parse-only.mjs: tree-sitter parse of every .c/.h file, N workers
//   tables      node dist/cli.js tables --format json --jobs N SUBTREE...
//   facts       node dist/cli.js facts --format json --stats-only --jobs N SUBTREE...
//   spatch      spatch --sp-file test/bench/tables.cocci --very-quiet --no-includes -j N --dir SUBTREE
// and prints a markdown table to stdout (progress goes to stderr). With --whole only
// parse-only and tables run. Nothing here asserts on time; a failed run prints n/a and its
// error, and the script exits 1 after printing everything.
// See test/bench/README.md for what each column means.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listSources } from './parse-only.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const TOPDIR = 'linux-source-6.1';
const TIME = '/usr/bin/time';
// KERNLIFE_BENCH_CLI: benchmark another build of the CLI (default: this repo's dist/cli.js).
const CLI = resolve(process.env.KERNLIFE_BENCH_CLI || join(REPO, 'dist/cli.js'));
const PARSE_ONLY = join(HERE, 'parse-only.mjs');
const COCCI = join(HERE, 'tables.cocci');
const HELPER = join(REPO, 'test/corpus/kernel-src.mjs');

const log = (...a) => console.error('[bench]', ...a);

// ---------------------------------------------------------------- arguments

function usage() {
  return [
    'usage: node test/bench/bench.mjs [--jobs N] [--spatch-full] [--facts-full] [--keep] [SUBTREE...]',
    '       node test/bench/bench.mjs --whole [--jobs N] [--keep]',
    '  SUBTREE      directories of linux-source-6.1 (default: fs), e.g. `kernel mm`',
    '  --jobs N     worker threads for parse-only and kernlife, processes for spatch (default 2)',
    '  --whole      extract the whole tree; run parse-only and tables only',
    '  --spatch-full  also run spatch with --disable-worth-trying-opt (parses every file)',
    '  --facts-full   also run facts with every summary built and printed (JSON to /dev/null)',
    '  --keep       keep the raw outputs of every run (path printed on stderr)',
  ].join('\n');
}

function parseArgs(argv) {
  const o = { jobs: 2, whole: false, spatchFull: false, factsFull: false, keep: false, subtrees: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--jobs' || a === '-j') o.jobs = Number(argv[++i]);
    else if (a.startsWith('--jobs=')) o.jobs = Number(a.slice(7));
    else if (a === '--whole') o.whole = true;
    else if (a === '--spatch-full') o.spatchFull = true;
    else if (a === '--facts-full') o.factsFull = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '-h' || a === '--help') {
      console.log(usage());
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${usage()}`);
    else o.subtrees.push(a.replace(/\/+$/, ''));
  }
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new Error('--jobs wants a positive integer');
  if (o.whole && o.subtrees.length) throw new Error('--whole takes no SUBTREE');
  if (!o.whole && o.subtrees.length === 0) o.subtrees.push('fs');
  for (const s of o.subtrees) {
    if (!s || isAbsolute(s) || s.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new Error(`SUBTREE must be a relative directory inside ${TOPDIR}: ${s}`);
    }
  }
  // `fs fs/proc` would count fs/proc twice for spatch; keep the outermost directories only.
  o.subtrees = [...new Set(o.subtrees)]
    .sort()
    .filter((s, _, all) => !all.some((t) => t !== s && s.startsWith(t + '/')));
  return o;
}

// ---------------------------------------------------------------- kernel source

// Top-level directories of linux-source-6.1 (`tar -tJf ... | cut -d/ -f2 | sort -u`); the
// top-level files (Makefile, Kconfig, ...) hold no C. --whole extracts all of these.
const WHOLE_DIRS = [
  'Documentation', 'LICENSES', 'arch', 'block', 'certs', 'crypto', 'drivers', 'fs', 'include',
  'init', 'io_uring', 'ipc', 'kernel', 'lib', 'mm', 'net', 'rust', 'samples', 'scripts',
  'security', 'sound', 'tools', 'usr', 'virt',
];

/** The extracted `linux-source-6.1` directory holding every dir in `dirs`. */
async function kernelRoot(dirs) {
  if (existsSync(HELPER)) {
    try {
      const mod = await import(pathToFileURL(HELPER).href);
      if (typeof mod.kernelTree !== 'function') throw new Error('no kernelTree export');
      const root = await mod.kernelTree(dirs);
      if (root) return { dir: String(root), via: 'test/corpus/kernel-src.mjs' };
      log('kernelTree() returned null; extracting myself');
    } catch (e) {
      log(`test/corpus/kernel-src.mjs failed (${e && e.message}); extracting myself`);
    }
  }
  return { dir: extractMyself(dirs), via: 'own extraction' };
}

/**
 * Fallback when the test helper is absent: same cache layout as test/corpus/kernel-src.mjs
 * (${tmpdir}/kernlife-kernel-6.1/linux-source-6.1, one `.stamps/DIR.done` per finished dir),
 * so either can reuse what the other extracted.
 */
function extractMyself(dirs) {
  if (!existsSync(TARBALL)) throw new Error(`${TARBALL} not found (Debian package linux-source-6.1)`);
  const cache = resolve(process.env.KERNLIFE_KERNEL_CACHE || join(os.tmpdir(), 'kernlife-kernel-6.1'));
  const stamp = (d) => join(cache, '.stamps', `${d.replace(/\//g, '__')}.done`);
  const done = (d) => d.split('/').some((_, i, parts) => existsSync(stamp(parts.slice(0, i + 1).join('/'))));
  const todo = dirs.filter((d) => !done(d));
  if (todo.length) {
    mkdirSync(join(cache, '.stamps'), { recursive: true });
    for (const d of todo) rmSync(join(cache, TOPDIR, d), { recursive: true, force: true });
    log(`extracting ${todo.join(' ')} from ${TARBALL} into ${cache} ...`);
    const members = todo.map((d) => `${TOPDIR}/${d}`);
    const r = spawnSync('tar', ['-xJf', TARBALL, '-C', cache, '--no-same-owner', ...members], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`tar failed (is each SUBTREE a directory of ${TOPDIR}?)`);
    for (const d of todo) writeFileSync(stamp(d), `${new Date().toISOString()} ${TARBALL}\n`);
  }
  return join(cache, TOPDIR);
}

// ---------------------------------------------------------------- running children

/**
 * Runs one command (cwd, stdout and stderr to files) under /usr/bin/time when present.
 * Returns wall seconds (measured here), CPU seconds and peak RSS in KB (from time), exit code.
 */
function timed(name, cmd, args, cwd, outDir, discard = false) {
  const stdout = discard ? '/dev/null' : join(outDir, `${name}.out`);
  const stderr = join(outDir, `${name}.err`);
  const timeFile = join(outDir, `${name}.time`);
  const hasTime = existsSync(TIME);
  const [file, argv] = hasTime ? [TIME, ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const outFd = openSync(stdout, 'w');
  const errFd = openSync(stderr, 'w');
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd, stdio: ['ignore', outFd, errFd] });
    const finish = (code, spawnError) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      closeSync(outFd);
      closeSync(errFd);
      let cpu = null;
      let rssKB = null;
      if (hasTime && existsSync(timeFile)) {
        // GNU time writes "Command exited with non-zero status N" first on failure.
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const m = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(last.trim());
        if (m) {
          cpu = Number(m[2]) + Number(m[3]);
          rssKB = Number(m[4]);
        }
      }
      done({ name, code, wall, cpu, rssKB, stdout, stderr, spawnError });
    };
    child.once('error', (e) => finish(-1, e));
    child.once('exit', (code, signal) => finish(code ?? (signal ? 128 : -1)));
  });
}

/** First meaningful line of a failed run's stderr, for the table. */
function failure(r) {
  if (r.spawnError) return r.spawnError.message;
  const err = existsSync(r.stderr) ? readFileSync(r.stderr, 'utf8') : '';
  const lines = err.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /error|cannot|not found|unknown|invalid/i.test(l)) ?? lines[0] ?? '';
  return `exit ${r.code}${line ? `: ${line}` : ''}`;
}

// ---------------------------------------------------------------- reading results

/** JSON document, or JSON lines, or throws. Large outputs are fine (read once, parsed once). */
function readJson(path) {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    const lines = text.split('\n').filter((l) => l.trim());
    if (lines.length > 1) return lines.map((l) => JSON.parse(l));
    throw e;
  }
}

/**
 * file_operations tables in kernlife's `tables --format json` output. The walk accepts any
 * nesting (per-file objects with `tables: OpsTable[]`, a flat list, ...) and picks objects
 * with kind/struct `file_operations` and a `name`.
 */
function kernlifeFops(json, root, cwd) {
  const out = [];
  const visit = (v, file) => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x, file);
      return;
    }
    if (!v || typeof v !== 'object') return;
    if (typeof v.file === 'string' && !('line' in v)) file = v.file;
    if ((v.kind === 'file_operations' || v.struct === 'file_operations') && typeof v.name === 'string') {
      const f = (v.loc && typeof v.loc.file === 'string' && v.loc.file) || file || '';
      out.push({ file: relTo(root, cwd, f), name: v.name, macro: v.macro ?? null });
      return;
    }
    for (const k of Object.keys(v)) visit(v[k], file);
  };
  visit(json, undefined);
  return out;
}

function relTo(root, cwd, f) {
  if (!f) return '';
  return relative(root, resolve(cwd, f)).split(sep).join('/');
}

/** spatch lines: FILE:LINE:NAME (see tables.cocci). */
function spatchFops(path, root, cwd) {
  const out = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(.+):(\d+):([A-Za-z_]\w*)$/.exec(line.trim());
    if (m) out.push({ file: relTo(root, cwd, m[1]), line: Number(m[2]), name: m[3] });
  }
  return out;
}

// ---------------------------------------------------------------- formatting

const MB = (bytes) => bytes / 1e6;
const f1 = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(1));
const f2 = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));
const int = (n) => n.toLocaleString('en-US');
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 160);
const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const shell = (cmd, args) => [cmd, ...args].map(quote).join(' ');

function toolVersion(cmd, args, re) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const m = re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m ? m[1] : null;
}

// ---------------------------------------------------------------- main

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const invocation = ['node', 'test/bench/bench.mjs', ...process.argv.slice(2)].map(quote).join(' ');
  const { dir: root, via } = await kernelRoot(o.whole ? WHOLE_DIRS : o.subtrees);
  const targets = o.whole ? ['.'] : o.subtrees;
  for (const t of targets) {
    if (!existsSync(join(root, t)) || !statSync(join(root, t)).isDirectory()) {
      throw new Error(`${t} is not a directory of ${root}`);
    }
  }

  // The file set: what parse-only parses and what the MB figures divide by. Reading every
  // file here also warms the page cache, so no run pays for the first read from disk.
  const files = listSources(targets.map((t) => join(root, t)));
  let bytes = 0;
  for (const f of files) bytes += readFileSync(f).length;
  const nC = files.filter((f) => f.endsWith('.c')).length;
  const mb = MB(bytes);
  log(`${via}: ${root}; ${int(files.length)} files, ${mb.toFixed(1)} MB`);

  const load = os.loadavg()[0];
  if (load > 0.5) log(`load average ${load.toFixed(2)} before the runs: other work will skew the times`);
  const outDir = mkdtempSync(join(os.tmpdir(), 'kernlife-bench-'));
  const jobs = String(o.jobs);
  const node = process.execPath;
  const rows = [];
  const notes = [];
  const commands = [];
  let failed = false;

  const run = async (name, label, cmd, args, { cwd = root, shown = shell('node', args), discard = false } = {}) => {
    log(`running ${label} ...`);
    commands.push(`(cd ${quote(cwd)} && ${shown}${discard ? ' > /dev/null' : ''})`);
    const r = await timed(name, cmd, args, cwd, outDir, discard);
    r.label = label;
    r.ok = r.code === 0 && !r.spawnError;
    if (!r.ok) {
      failed = true;
      r.error = failure(r);
      log(`${label} failed: ${r.error}`);
    }
    return r;
  };

  // parse-only
  const p = await run('parse-only', 'parse-only (tree-sitter)', node, [PARSE_ONLY, '--json', '--jobs', jobs, ...targets], {
    shown: shell('node', [PARSE_ONLY, '--json', '--jobs', jobs, ...targets]),
  });
  if (p.ok) {
    try {
      const j = JSON.parse(readFileSync(p.stdout, 'utf8'));
      p.found = `${int(j.errorFiles)} of ${int(j.parsed)} files with ERROR nodes`;
      if (j.parsed !== files.length) notes.push(`parse-only parsed ${j.parsed} of ${files.length} files: ${j.failures.slice(0, 3).join('; ')}`);
      notes.push(`parse-only: slowest file ${relTo(root, root, j.slowestFile)} ${j.slowestMs} ms; listing ${j.listMs} ms, parsing ${j.parseMs} ms.`);
    } catch (e) {
      p.found = `bad output: ${e.message}`;
    }
  }
  rows.push(p);

  // kernlife
  const haveCli = existsSync(CLI);
  const cliShown = (args) => shell('node', [CLI, ...args]);
  const notBuilt = (name, label) => {
    failed = true;
    const r = { name, label, ok: false, error: `${relative(REPO, CLI)} not found (run npm run build)` };
    log(`${label}: ${r.error}`);
    return r;
  };

  const tArgs = ['tables', '--format', 'json', '--jobs', jobs, ...targets];
  commands.push(...(haveCli ? [] : [`(cd ${quote(root)} && ${cliShown(tArgs)})`]));
  const t = haveCli ? await run('tables', 'kernlife tables', node, [CLI, ...tArgs], { shown: cliShown(tArgs) }) : notBuilt('tables', 'kernlife tables');
  let kFops = null;
  if (t.ok) {
    try {
      kFops = kernlifeFops(readJson(t.stdout), root, root);
      const macro = kFops.filter((x) => x.macro).length;
      t.found = `${int(kFops.length)} file_operations (${int(macro)} from macros)`;
    } catch (e) {
      t.found = `bad JSON: ${e.message}`;
      failed = true;
    }
  }
  rows.push(t);

  let s = null;
  if (!o.whole) {
    const fArgs = ['facts', '--format', 'json', '--stats-only', '--jobs', jobs, ...targets];
    commands.push(...(haveCli ? [] : [`(cd ${quote(root)} && ${cliShown(fArgs)})`]));
    const f = haveCli ? await run('facts', 'kernlife facts', node, [CLI, ...fArgs], { shown: cliShown(fArgs) }) : notBuilt('facts', 'kernlife facts');
    if (f.ok) {
      try {
        const stats = readJson(f.stdout).stats;
        if (!stats || typeof stats !== 'object') throw new Error('no "stats" object');
        const nums = Object.entries(stats).filter(([, v]) => typeof v === 'number');
        f.found = nums.slice(0, 4).map(([k, v]) => `${k} ${int(v)}`).join(', ') || 'stats ok';
        notes.push(`facts stats: ${JSON.stringify(stats).slice(0, 400)}`);
        if (typeof stats.files === 'number' && stats.files !== files.length) {
          notes.push(`kernlife facts saw ${stats.files} files; this bench counts ${files.length} .c/.h files.`);
        }
      } catch (e) {
        f.found = `bad JSON: ${e.message}`;
        failed = true;
      }
    }
    rows.push(f);

    // --stats-only counts every summary's effects without building them (they are built when
    // read); this row builds and prints them all, as `facts --format json` does for real.
    if (o.factsFull) {
      const aArgs = ['facts', '--format', 'json', '--jobs', jobs, ...targets];
      commands.push(...(haveCli ? [] : [`(cd ${quote(root)} && ${cliShown(aArgs)} > /dev/null)`]));
      const a = haveCli
        ? await run('facts-full', 'kernlife facts, every summary built (JSON to /dev/null)', node, [CLI, ...aArgs], { shown: cliShown(aArgs), discard: true })
        : notBuilt('facts-full', 'kernlife facts, every summary built');
      if (a.ok) a.found = 'output not kept';
      rows.push(a);
    }

    // spatch: one run per subtree (spatch keeps only the last --dir), summed. cwd is the
    // temp dir, not the kernel root, so the kernel's .cocciconfig (--use-gitgrep) is not read.
    const spatchRuns = [{ name: 'spatch', label: 'spatch', extra: [] }];
    if (o.spatchFull) spatchRuns.push({ name: 'spatch-full', label: 'spatch, no prefilter', extra: ['--disable-worth-trying-opt'] });
    for (const sr of spatchRuns) {
      const parts = [];
      for (const [i, d] of targets.entries()) {
        const args = ['--sp-file', COCCI, '--very-quiet', '--no-includes', '-j', jobs, ...sr.extra, '--dir', join(root, d)];
        parts.push(await run(`${sr.name}-${i}`, `${sr.label} ${d}`, 'spatch', args, { cwd: os.tmpdir(), shown: shell('spatch', args) }));
      }
      const r = { name: sr.name, label: sr.label, ok: parts.every((x) => x.ok) };
      if (r.ok) {
        r.wall = parts.reduce((a, x) => a + x.wall, 0);
        r.cpu = parts.every((x) => x.cpu != null) ? parts.reduce((a, x) => a + x.cpu, 0) : null;
        r.rssKB = parts.every((x) => x.rssKB != null) ? Math.max(...parts.map((x) => x.rssKB)) : null;
        r.fops = parts.flatMap((x) => spatchFops(x.stdout, root, os.tmpdir()));
        r.found = `${int(r.fops.length)} file_operations`;
      } else r.error = parts.find((x) => !x.ok).error;
      rows.push(r);
      if (sr.name === 'spatch') s = r;
    }
  }

  // ------------------------------------------------------------ report
  const base = p.ok ? p.wall : null;
  const env = [
    `Node ${process.version}`,
    `${os.cpus().length}× ${os.cpus()[0]?.model?.trim() ?? 'cpu'}`,
    `load ${load.toFixed(2)}`,
    o.whole ? null : `spatch ${toolVersion('spatch', ['--version'], /spatch version (\S+)/) ?? '?'}`,
  ].filter(Boolean);
  const what = o.whole ? 'whole tree' : targets.map((x) => `\`${x}\``).join(' ');
  const out = [];
  out.push(`**${TOPDIR} ${what}**: ${int(files.length)} files (${int(nC)} .c, ${int(files.length - nC)} .h), ${mb.toFixed(1)} MB; --jobs ${o.jobs}; ${env.join('; ')}`);
  out.push('');
  out.push('| run | wall s | CPU s | peak RSS MB | MB/s | × parse-only | found |');
  out.push('|---|--:|--:|--:|--:|--:|---|');
  for (const r of rows) {
    if (!r.ok) {
      out.push(`| ${r.label} | n/a | n/a | n/a | n/a | n/a | ${cell(`n/a: ${r.error}`)} |`);
      continue;
    }
    const rss = r.rssKB == null ? 'n/a' : (r.rssKB / 1024).toFixed(0);
    const ratio = base ? f2(r.wall / base) : 'n/a';
    out.push(`| ${r.label} | ${f2(r.wall)} | ${f1(r.cpu)} | ${rss} | ${f1(mb / r.wall)} | ${ratio} | ${cell(r.found ?? '')} |`);
  }
  out.push('');

  if (!o.whole) {
    const tOk = t.ok && kFops;
    const ratio = tOk && s?.ok ? `${f2(s.wall / t.wall)}×` : 'n/a';
    out.push(`spatch / kernlife tables wall time: ${ratio}`);
    if (s?.ok && tOk) {
      // spatch only reads .c files and only sees `struct file_operations NAME = {...}`
      // written out; compare it with kernlife's tables of that shape in .c files.
      const key = (x) => `${x.file}:${x.name}`;
      const kLit = kFops.filter((x) => !x.macro && x.file.endsWith('.c'));
      const kSet = new Set(kLit.map(key));
      const sSet = new Set(s.fops.map(key));
      const onlyS = [...sSet].filter((k) => !kSet.has(k)).sort();
      const onlyK = [...kSet].filter((k) => !sSet.has(k)).sort();
      const both = [...sSet].filter((k) => kSet.has(k)).length;
      out.push(
        `file_operations tables: spatch ${int(s.fops.length)}, kernlife ${int(kFops.length)} ` +
          `(${int(kLit.length)} written out in .c files); same file+name: ${int(both)}, ` +
          `spatch only ${int(onlyS.length)}, kernlife only ${int(onlyK.length)}`,
      );
      const show = (l) => l.slice(0, 8).join(', ') + (l.length > 8 ? `, … (${l.length - 8} more)` : '');
      if (onlyS.length) out.push(`- spatch only: ${show(onlyS)}`);
      if (onlyK.length) out.push(`- kernlife only: ${show(onlyK)}`);
    } else if (s?.ok) {
      out.push(`file_operations tables: spatch ${int(s.fops.length)}, kernlife n/a`);
    }
  }
  if (!existsSync(TIME)) notes.push(`${TIME} missing (Debian package \`time\`): wall time only, no CPU or RSS.`);
  for (const n of notes) out.push(`- ${n}`);
  out.push('');
  out.push('```sh');
  out.push(`# ${invocation}    (kernel: ${via})`);
  out.push(...commands);
  out.push('```');
  console.log(out.join('\n'));

  if (o.keep) log(`raw outputs kept in ${outDir}`);
  else rmSync(outDir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(`bench: ${e && e.message}`);
    process.exitCode = 2;
  },
);
