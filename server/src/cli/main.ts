/**
 * kernlife CLI: `tables`, `facts` (and later `check`, `simulate`). Does the IO (walking,
 * reading, the worker pool, printing) and goes through the same façade as the editor.
 * Exit codes: 0 ok, 2 usage or internal error.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { KbuildReader } from '../index/kbuild';
import { KBUILD_IO } from './walk';
import { buildIndex, DEFAULT_OPTIONS, eachFunctionReport, knowledgeFor, summarySize, type AnalysisOptions, type ExtractResult } from '../analysis';
import { runPool, runSimJob, type JobResult, type SimJob } from './pool';
import { countDone, SearchPool } from './search-pool';
import { walk } from './walk';
import { formatFactsText, formatTablesText } from './format';
import { DEFAULT_SIM_OPTIONS } from '../sim/explore';
import { PIN_POLICIES, type PinPolicy } from '../sim/model';
import { applyEdits, fixesFor, unifiedDiff, type TextEdit } from '../fixes/index';
import type { Finding } from '../rules/types';
import { planCheck, replanCheck, reachablePartialFiles, finishCheck, simOptions, type CheckOptions } from '../check';
import { RULE_IDS } from '../rules/index';
import { findingsJson, findingsSarif, findingsText, simulateJson, simulateSvg, simulateText } from './report';
import { initParser, parserInfo } from '../syntax';

/** The workers' bundle (extract-worker.ts), next to this one. */
const EXTRACT_WORKER = path.join(__dirname, 'extract-worker.js');

const USAGE = `usage: kernlife <command> [options] PATH...

commands:
  tables   list every ops table (file_operations, proc_ops, kernfs_ops, cftype, vm_operations_struct,
           platform/pci/usb drivers, miscdevice, vfio_iommu_driver_ops, ib_device_ops) with each
           field's handler and where it is defined
  facts    per-function lifecycle effects and cross-file summaries
  check    run the lifetime rules (the simulator explores each table's interleavings);
           exit 0 when nothing at or above --fail-on, 1 when findings, 2 on errors
  simulate simulate the tables of FILE (other PATHs give context for cross-file calls) and
           show what was explored and every violation with its trace:
             kernlife simulate [--table NAME] FILE [PATH...]

options:
  --format text|json|sarif   output format (default text; sarif for check only)
  --fail-on error|warning|info|none   check: lowest severity that fails (default warning)
  --rule ID              check: only this rule (repeatable); ids: ${RULE_IDS.join(', ')}
  --table NAME           simulate: only this table
  --function NAME        facts: only functions with this name
  --stats-only           facts/tables: print only the statistics (JSON)
  --jobs N               threads extracting files (default: all cores)
  --config FILE          API rows for out-of-tree wrappers (default: .kernlife.json in the current
                         directory or above the first PATH)
  --max-size BYTES       skip files larger than this (default ${DEFAULT_OPTIONS.maxFileBytes})
  --diff                 check: print the safe fixes as a unified diff (git apply / patch -p1)
  --full-facts           check, simulate: extract effects of every file up front (default: only
                         files with ops tables, then whatever their models reach; same result)
  --pin-policy P         check/simulate: upstream (default), layout-lease or blocking-close
                         (a file's own /* kernlife: pinPolicy=P */ comment wins)
  --max-states N         check/simulate: states explored per table (default ${DEFAULT_SIM_OPTIONS.maxStates})
  --sim-time MS          check/simulate: time limit per table (default ${DEFAULT_SIM_OPTIONS.timeMs})
  -h, --help             this text
`;

class UsageError extends Error {}

interface Args {
  command: string;
  format: 'text' | 'json' | 'sarif' | 'svg';
  failOn: 'error' | 'warning' | 'info' | 'none';
  rules: string[];
  table?: string;
  fn?: string;
  statsOnly: boolean;
  jobs: number;
  config?: string;
  maxSize: number;
  /** simulation budget overrides (check, simulate) */
  maxStates?: number;
  simTimeMs?: number;
  pinPolicy?: PinPolicy;
  /** check: print the safe fixes as a unified diff instead of the report */
  diff?: boolean;
  /** check, simulate: extract every file in full up front (the result is the same; for comparison) */
  fullFacts?: boolean;
  paths: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { command: '', format: 'text', failOn: 'warning', rules: [], statsOnly: false, jobs: os.availableParallelism?.() ?? os.cpus().length, maxSize: DEFAULT_OPTIONS.maxFileBytes, paths: [] };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '-h' || x === '--help') { a.command = 'help'; continue; }
    if (x === '--format') { const v = value(i++, x); if (v !== 'text' && v !== 'json' && v !== 'sarif' && v !== 'svg') throw new UsageError(`--format must be text, json, sarif or svg`); a.format = v; continue; }
    if (x === '--fail-on') { const v = value(i++, x); if (v !== 'error' && v !== 'warning' && v !== 'info' && v !== 'none') throw new UsageError('--fail-on must be error, warning, info or none'); a.failOn = v; continue; }
    if (x === '--rule') { const v = value(i++, x); if (!RULE_IDS.includes(v)) throw new UsageError(`unknown rule ${v} (rules: ${RULE_IDS.join(', ')})`); a.rules.push(v); continue; }
    if (x === '--table') { a.table = value(i++, x); continue; }
    if (x === '--function') { a.fn = value(i++, x); continue; }
    if (x === '--stats-only') { a.statsOnly = true; continue; }
    if (x === '--jobs' || x === '-j') { const n = Number(value(i++, x)); if (!Number.isInteger(n) || n < 1) throw new UsageError('--jobs must be a positive integer'); a.jobs = n; continue; }
    if (x === '--config') { a.config = value(i++, x); continue; }
    if (x === '--diff') { a.diff = true; continue; }
    if (x === '--full-facts') { a.fullFacts = true; continue; }
    if (x === '--pin-policy') { const v = value(i++, x); if (!PIN_POLICIES.includes(v as PinPolicy)) throw new UsageError(`--pin-policy must be one of ${PIN_POLICIES.join(', ')}`); a.pinPolicy = v as PinPolicy; continue; }
    if (x === '--max-states') { const n = Number(value(i++, x)); if (!Number.isInteger(n) || n < 1) throw new UsageError('--max-states must be a positive integer'); a.maxStates = n; continue; }
    if (x === '--sim-time') { const n = Number(value(i++, x)); if (!Number.isInteger(n) || n < 1) throw new UsageError('--sim-time must be a positive integer (milliseconds)'); a.simTimeMs = n; continue; }
    if (x === '--max-size') { const n = Number(value(i++, x)); if (!Number.isInteger(n) || n < 1) throw new UsageError('--max-size must be a positive integer'); a.maxSize = n; continue; }
    if (x.startsWith('-') && x !== '-') throw new UsageError(`unknown option ${x}`);
    if (!a.command) a.command = x; else a.paths.push(x);
  }
  return a;
}

function findConfig(args: Args): AnalysisOptions['config'] {
  let file = args.config;
  if (!file) {
    const starts = [process.cwd(), ...(args.paths[0] ? [path.resolve(args.paths[0])] : [])];
    outer: for (const s of starts) {
      for (let d = s; ; d = path.dirname(d)) {
        const f = path.join(d, '.kernlife.json');
        if (fs.existsSync(f)) { file = f; break outer; }
        if (path.dirname(d) === d) break;
      }
    }
  }
  if (!file) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  return { json, source: file };
}

/** `check --diff`: every finding's first safe fix, applied per file, as one unified diff per file. */
function safeFixDiff(findings: Finding[]): string {
  const texts = new Map<string, string>();
  const read = (f: string) => { if (!texts.has(f)) { try { texts.set(f, fs.readFileSync(f, 'utf8')); } catch { return undefined; } } return texts.get(f); };
  const byFile = new Map<string, TextEdit[]>();
  for (const f of findings) {
    const fix = fixesFor(f, read).find((x) => x.safe);
    if (!fix) continue;
    for (const e of fix.edits) (byFile.get(e.file) ?? byFile.set(e.file, []).get(e.file)!).push(e);
  }
  let out = '';
  for (const [file, edits] of [...byFile].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const before = read(file)!;
    // identical edits (two tables' findings with the same fix) apply once
    const uniq = edits.filter((e, i) => edits.findIndex((x) => JSON.stringify(x) === JSON.stringify(e)) === i);
    const after = applyEdits(before, uniq);
    if (after === null) { process.stderr.write(`kernlife: ${file}: overlapping fixes, none applied\n`); continue; }
    out += unifiedDiff(file, before, after);
  }
  return out;
}

class Progress {
  private last = 0;
  private readonly on = process.stderr.isTTY === true && !process.env.CI;
  tick(done: number, total: number, file: string): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    const cols = process.stderr.columns || 80;
    const msg = `kernlife: ${done}/${total} ${file}`;
    process.stderr.write('\r' + msg.slice(0, cols - 1).padEnd(cols - 1));
  }
  end(): void {
    if (this.on) process.stderr.write('\r' + ' '.repeat((process.stderr.columns || 80) - 1) + '\r');
  }
}

/**
 * Writes to stdout and, when the stream is full (a pipe whose reader is slower than us), waits
 * for it to drain: `facts --format json fs | ...` is 3 GB, and without waiting all of it queued
 * up in memory (2 GB of RSS for kernel/'s 350 MB into a slow pipe, 0.6 GB into /dev/null).
 */
async function emit(s: string): Promise<void> {
  if (!process.stdout.write(s)) await once(process.stdout, 'drain');
}

/** `KERNLIFE_TIMING=1`: each phase's wall time on stderr (for profiling; off by default). */
const TIMING = !!process.env.KERNLIFE_TIMING;
let phaseT = performance.now();
function phase(name: string): void {
  if (!TIMING) return;
  const now = performance.now();
  process.stderr.write(`kernlife: ${name} ${Math.round(now - phaseT)} ms\n`);
  phaseT = now;
}

async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.command === 'help' || !args.command) { process.stdout.write(USAGE); return args.command ? 0 : 2; }
  // the native parser, else web-tree-sitter (KERNLIFE_PARSER forces one); said when it fell back
  if ((await initParser()).fallback !== undefined || process.env.KERNLIFE_VERBOSE) process.stderr.write(`kernlife: parser: ${parserInfo()}\n`);
  if (TIMING || process.env.KERNLIFE_VERBOSE) process.stderr.write(`kernlife: heap limit ${Math.round(v8.getHeapStatistics().heap_size_limit / 1048576)} MB\n`);
  if (!['tables', 'facts', 'check', 'simulate'].includes(args.command)) throw new UsageError(`unknown command ${args.command}`);
  if (args.paths.length === 0) throw new UsageError('no PATH given');
  if (args.format === 'sarif' && args.command !== 'check') throw new UsageError('--format sarif is for check');
  if (args.format === 'svg' && args.command !== 'simulate') throw new UsageError('--format svg is for simulate');
  if (args.command === 'simulate' && (!fs.existsSync(args.paths[0]) || !fs.statSync(args.paths[0]).isFile())) throw new UsageError(`simulate: ${args.paths[0]} is not a file`);
  const options: AnalysisOptions = {
    ...DEFAULT_OPTIONS,
    // check and simulate extract effects where they can matter, then what the models reach
    level: args.command === 'tables' ? 'tables' : args.command === 'facts' || args.fullFacts ? 'facts' : 'auto',
    maxFileBytes: args.maxSize,
    config: findConfig(args),
  };
  const { problems: configProblems } = knowledgeFor(options);
  for (const p of configProblems) process.stderr.write(`kernlife: ${p}\n`);

  const t0 = performance.now();
  for (const p of args.paths) if (!fs.existsSync(p)) throw new UsageError(`${p}: no such file or directory`);
  const { files, problems: walkProblems } = walk(args.paths);
  const results: ExtractResult[] = new Array(files.length);
  const failed: { file: string; reason: string }[] = new Array(files.length);
  const progress = new Progress();
  const counts = await runPool(files, args.jobs, options, EXTRACT_WORKER, (r: JobResult, done) => {
    if (r.ok) results[r.id] = r.facts; else failed[r.id] = { file: r.file, reason: r.reason };
    progress.tick(done, files.length, r.file);
  }, options.level === 'facts');
  progress.end();
  if (process.env.KERNLIFE_VERBOSE) process.stderr.write(`kernlife: files: ${counts.prepared} parsed on workers and extracted here, ${counts.workers} done on workers, ${counts.here} done here\n`);
  phase('extract');
  // in file order, whatever order the workers finished in
  const skipped = [...walkProblems, ...failed.filter((x) => x !== undefined)];
  const facts = results.filter((r): r is ExtractResult => r !== undefined);
  const index = buildIndex(facts);
  // (the tree's Makefiles and Kconfig say which files can be unloaded modules)
  index.kbuild = new KbuildReader(index, KBUILD_IO);
  // facts and tables read the index as it is: no update follows, so no dependencies to record
  if (args.command === 'facts' || args.command === 'tables') index.freeze();
  phase('index');
  const problems = facts.flatMap((f) => f.problems.map((p) => ({ file: f.file, ...p })));
  for (const s of skipped) process.stderr.write(`${s.file}: warning: ${s.reason}\n`);

  const sum = (f: (x: ExtractResult) => number): number => facts.reduce((a, x) => a + f(x), 0);
  const expected = sum((f) => f.braces.expected);
  const stats = {
    files: facts.length,
    filesSkipped: skipped.length,
    bytes: sum((f) => f.stats.bytes),
    filesWithErrors: facts.filter((f) => f.stats.errorNodes > 0).length,
    functions: sum((f) => f.functions.length),
    functionsExpected: expected,
    recovered: expected ? Number((sum((f) => f.braces.recovered) / expected).toFixed(4)) : 1,
    // (function bodies in the #if branches the normalisation leaves out: not counted above)
    functionsInDroppedBranches: sum((f) => f.braces.dropped),
    tables: sum((f) => f.tables.length),
    macroTables: sum((f) => f.tables.filter((t) => t.macro).length),
    ms: 0,
  };

  const out = process.stdout;
  if (args.command === 'check' || args.command === 'simulate') {
    const cp = new Progress();
    const only = args.command === 'simulate' ? new Set([facts.find((f) => path.resolve(f.file) === path.resolve(args.paths[0]))?.file ?? args.paths[0]]) : undefined;
    const copts: CheckOptions = {
      ...(args.rules.length ? { rules: args.rules } : {}),
      ...(only ? { files: only } : {}),
      ...(args.pinPolicy ? { pinPolicy: args.pinPolicy } : {}),
      ...(args.maxStates || args.simTimeMs ? { sim: { ...(args.maxStates ? { maxStates: args.maxStates } : {}), ...(args.simTimeMs ? { timeMs: args.simTimeMs } : {}) } } : {}),
    };
    // models are built here (they need the index); the searches run on worker threads
    for (const f of facts) if (f.partial) index.setPartial(f.file, f.addrTaken ?? []);
    // Files skipped in the first pass that the tables need: extract them in full, in rounds.
    // First what the handlers reach through calls (cheap to follow, no model built), then
    // whatever building the models still asks for (a registration of the table, a resolution
    // the call walk did not follow), rebuilding only the models that asked.
    const tried = new Set<string>();
    const extractMore = async (want: string[]): Promise<void> => {
      for (const f of want) tried.add(f);
      const more: ExtractResult[] = [];
      await runPool(want, args.jobs, { ...options, level: 'facts' }, EXTRACT_WORKER, (r: JobResult) => {
        if (r.ok) more.push(r.facts); else process.stderr.write(`${r.file}: warning: ${r.reason}\n`);
      }, true);
      more.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      for (const f of more) index.update(f);
      for (const f of want) index.needed.delete(f);
    };
    for (let round = 1; ; round++) {
      // a file that failed to extract stays known by name only; it is not asked for twice
      const want = reachablePartialFiles(index).filter((f) => !tried.has(f));
      if (!want.length) break;
      await extractMore(want);
      phase(`calls round ${round}: ${want.length} more files in full`);
    }
    index.needed.clear();
    // a model that read no file known by name only is final: its search starts now, on the
    // workers, while this thread builds the others (search-pool.ts)
    const searches = new SearchPool(args.jobs, simOptions(copts), __filename, (d, n, t) => cp.tick(d, n, `simulating ${t}`));
    const plan = planCheck(index, { ...copts, onModel: (i, m, skip, incomplete) => { if (!skip && !incomplete) searches.submit(i, m); } });
    phase(`models (${searches.searches} searches submitted while building)`);
    for (let round = 1; index.needed.size; round++) {
      const want = [...index.needed].filter((f) => !tried.has(f)).sort();
      if (!want.length) break;
      await extractMore(want);
      const rebuilt = replanCheck(index, plan, copts);
      phase(`models round ${round}: ${want.length} more files in full, ${rebuilt} models again`);
    }
    // `KERNLIFE_DUMP_MODELS=FILE`: the models the searches get, for `npm run bench:sim`
    if (process.env.KERNLIFE_DUMP_MODELS) fs.writeFileSync(process.env.KERNLIFE_DUMP_MODELS, JSON.stringify(plan.models.filter((_, i) => !plan.skips[i])));
    plan.models.forEach((m, i) => { if (!plan.skips[i] && !searches.has(i)) searches.submit(i, m); });
    const results = await searches.finish(plan.models.length);
    phase('search');
    const res = finishCheck(index, plan, results, copts);
    cp.end();
    phase('rules');
    if (args.command === 'simulate') {
      let runs = res.runs;
      if (args.table) {
        runs = runs.filter((r) => r.model.table.name === args.table || `${r.model.table.name}[${r.model.table.index}]` === args.table);
        if (!runs.length) throw new UsageError(`no table named ${args.table} in ${args.paths[0]}`);
      }
      const programs = args.table ? [] : res.programs;
      const policy = args.pinPolicy ?? 'upstream';
      if (args.format === 'svg') {
        const svg = simulateSvg(runs, programs);
        if (!svg) { process.stderr.write('kernlife: no violation to draw\n'); return 0; }
        out.write(svg);
        return 0;
      }
      out.write(args.format === 'json' ? JSON.stringify(simulateJson(runs, programs, policy), null, 1) + '\n' : simulateText(runs, programs, policy));
      return 0;
    }
    const report = { ...res, stats: { ...res.stats, files: stats.files, filesSkipped: stats.filesSkipped, ms: Math.round(performance.now() - t0) } };
    if (args.diff) out.write(safeFixDiff(res.findings));
    else if (args.format === 'json') out.write(JSON.stringify(findingsJson(report), null, 1) + '\n');
    else if (args.format === 'sarif') out.write(JSON.stringify(findingsSarif(report), null, 1) + '\n');
    else out.write(findingsText(report));
    const order = ['info', 'warning', 'error'];
    const min = args.failOn === 'none' ? Infinity : order.indexOf(args.failOn);
    return res.findings.some((f) => order.indexOf(f.severity) >= min) ? 1 : 0;
  }
  if (args.command === 'tables') {
    const tables = index.tables();
    stats.ms = Math.round(performance.now() - t0);
    if (args.statsOnly) out.write(JSON.stringify({ stats }) + '\n');
    else if (args.format === 'json') out.write(JSON.stringify({ tables, stats, skipped, problems }, null, 1) + '\n');
    else out.write(formatTablesText(tables));
  } else {
    if (args.statsOnly) {
      // still summarise every function (which effects, how many, truncation), so --stats-only
      // measures the whole analysis; the mapped effects themselves are only built to be printed
      // (counted one report at a time, as the JSON output prints them: none is kept)
      let summaries = 0, summaryEffects = 0;
      for (const r of eachFunctionReport(index, args.fn)) { summaries++; summaryEffects += summarySize(r.summary); }
      stats.ms = Math.round(performance.now() - t0);
      out.write(JSON.stringify({ stats: { ...stats, summaries, summaryEffects } }) + '\n');
    } else if (args.format === 'json') {
      // each function's summary is built, printed and let go in turn; `ms` counts the
      // analysis (summaries and their effects), not the printing
      let printing = 0;
      let i = 0;
      await emit('{"functions":[');
      for (const r of eachFunctionReport(index, args.fn)) {
        void r.summary.effects;
        const tp = performance.now();
        await emit((i++ ? ',\n' : '\n') + JSON.stringify(r));
        printing += performance.now() - tp;
      }
      stats.ms = Math.round(performance.now() - t0 - printing);
      await emit(`\n],"stats":${JSON.stringify(stats)},"skipped":${JSON.stringify(skipped)},"problems":${JSON.stringify(problems)}}\n`);
    } else {
      // one function at a time (a single string for all of them exceeds V8's heap on drivers/net)
      for (const r of eachFunctionReport(index, args.fn)) await emit(formatFactsText([r]));
    }
  }
  return 0;
}

/**
 * Peak heap per byte of C, with margin: `check` and `facts` keep facts and summaries of what
 * they read (measured: facts of kernel/ 24x its source in RSS, fs/ 16x, check on the CI
 * directories 20x, on the whole tree 5x).
 */
const HEAP_PER_SOURCE_BYTE = 32;

/**
 * What the sources named on the command line weigh, counted up to `enough` (past it the run
 * respawns anyway, and the child walks the tree again); Infinity when that cannot be told here.
 */
function sourceBytes(argv: string[], enough: number): number {
  try {
    const a = parseArgs(argv);
    if (!a.paths.length || !a.paths.every((p) => fs.existsSync(p))) return Infinity;
    let bytes = 0;
    for (const f of walk(a.paths).files) if ((bytes += fs.statSync(f).size) >= enough) break;
    return bytes;
  } catch {
    return Infinity; // (a usage error: the child reports it)
  }
}

/**
 * `check`, `simulate` and `facts` keep every reached file's facts and summaries in this thread's
 * heap: on the whole 6.1 tree that is ~6 GB, and at V8's default limit (~4 GB here) building the
 * models spent most of its time in the garbage collector (235 s against 75 s with room). So
 * these commands run again in a child with a heap of half the machine's memory (at most 16 GB)
 * unless a limit was given (`--max-old-space-size` in the node options), `KERNLIFE_HEAP_MB`
 * says otherwise (`0`: never), or, unasked, the sources fit the default limit (see
 * HEAP_PER_SOURCE_BYTE). Returns whether the child ran (its exit status is ours).
 */
function respawnedWithHeap(argv: string[]): boolean {
  if (!['check', 'simulate', 'facts'].includes(argv[0] ?? '') || process.env.KERNLIFE_HEAP_RESPAWNED) return false;
  const given = process.env.KERNLIFE_HEAP_MB;
  if (given === '0') return false;
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('max-old-space-size'))) return false;
  const want = given && /^\d+$/.test(given) ? Number(given) : Math.min(16384, Math.floor(os.totalmem() / 1048576 / 2));
  const have = v8.getHeapStatistics().heap_size_limit / 1048576;
  if (want < have * 1.25) return false;
  // Unasked, the heap a run needs follows its sources: runs that fit half the default limit
  // with room to spare (a driver, a subsystem; fs/ with 42 MB of C peaks at 0.7 GB) are spared
  // a second process (0.1 s, most of a small run's fixed cost).
  const fits = (have * 1048576) / 2 / HEAP_PER_SOURCE_BYTE;
  if (!given && sourceBytes(argv, fits) < fits) return false;
  const r = spawnSync(process.execPath, [...process.execArgv, `--max-old-space-size=${want}`, process.argv[1], ...argv], {
    stdio: 'inherit', env: { ...process.env, KERNLIFE_HEAP_RESPAWNED: '1' },
  });
  if (r.error) return false; // could not start: run here, with the default heap
  if (r.signal) process.kill(process.pid, r.signal);
  process.exitCode = r.status ?? 2;
  return true;
}

/**
 * TurboFan without inlining. A CLI run lives for seconds to minutes, and with inlining V8 spent
 * a third of its CPU recompiling the extractor's large methods into each other on background
 * threads (perf on `facts kernel/`: 22% of all samples in the optimising compiler; --turbo-stats
 * 4.2 s of compile against 1.8 s without). That CPU is a core's worth taken from the other
 * worker at `--jobs 2`. Measured in BENCHMARKS.md. V8 flags are per process, so the workers
 * (threads) follow. A `--turbo-inlining` in the node options, or KERNLIFE_V8_INLINING=1, keeps V8's default.
 */
function tuneCompiler(): void {
  const asked = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('turbo-inlining'));
  if (asked || process.env.KERNLIFE_V8_INLINING === '1') return;
  try { v8.setFlagsFromString('--no-turbo-inlining'); } catch { /* an engine without the flag: keep its default */ }
}

if (!isMainThread && workerData?.kernlifeSimWorker) {
  parentPort!.on('message', (job: SimJob) => {
    const r = runSimJob(job);
    countDone(workerData);
    parentPort!.postMessage(r);
  });
} else if (require.main === module && (tuneCompiler(), !respawnedWithHeap(process.argv.slice(2)))) {
  run(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => {
      if (e instanceof UsageError) process.stderr.write(`kernlife: ${e.message}\n\n${USAGE}`);
      else process.stderr.write(`kernlife: internal error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 2;
    },
  );
}
