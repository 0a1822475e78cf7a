/**
 * Language server entry (dist/server.js). The only place that imports vscode-languageserver.
 *
 * - A workspace index: every .c/.h file of the workspace folders is summarised in the
 *   background (work-done progress), then every table is checked once.
 * - Open documents are re-extracted on change (debounced per document); the index is updated
 *   incrementally, and only the tables whose handlers' summaries changed, or that live in the
 *   changed file, are simulated again. A result is published only if no newer edit arrived.
 * - Diagnostics: the rule id as `code` with a link to its page, the trace as related
 *   information (one entry per step, with its actor), and a pointer at the ops table in the
 *   table's own file when the finding sits in another file (the PSI case: the free in psi.c,
 *   the pressure table in cgroup.c).
 * - `kernlife/simulate` returns what `kernlife simulate --format json` prints for a document.
 * - Nothing throws out of a handler: failures are logged and give empty or partial results.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind, createConnection, DiagnosticSeverity, ProposedFeatures, SymbolKind, TextDocuments, TextDocumentSyncKind,
  type CodeAction, type Diagnostic, type DocumentSymbol, type DiagnosticRelatedInformation, type WorkspaceEdit,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { extract, DEFAULT_OPTIONS, type ExtractResult } from '../analysis';
import { initParser, parserBackend, parserInfo } from '../syntax';
import type { Loc } from '../facts/types';
import { Index } from '../index/index';
import { checkIndex, combineFindings, finishCheck, planCheck, simOptions, tableIds, type CheckResult } from '../check';
import { SearchPool } from '../cli/search-pool';
import { runPool, type PoolOptions, type TextKey } from '../cli/pool';
import type { Finding } from '../rules/types';
import { simulateJson } from '../cli/report';
import { walk } from '../cli/walk';
import { KbuildReader } from '../index/kbuild';
import { KBUILD_IO } from '../cli/walk';
import { fixesFor, type Fix } from '../fixes/index';
import { PIN_POLICIES, type PinPolicy, type TableModel } from '../sim/model';
import { searchKey, simulate, type SimOptions, type SimResult } from '../sim/explore';
import { DocumentState } from './incremental';
import { IndexCache, sha1, type FileKey } from './cache';
import type { FileFacts, FunctionFacts } from '../facts/types';

/** `kernlife.*` settings (package.json contributes them; defaults here match). */
interface Settings {
  enable: boolean;
  pinPolicy: PinPolicy;
  minimumConfidence: 'low' | 'medium' | 'high';
  /** Per rule: error | warning | info | off (default: the rule's own severity). */
  severity: Record<string, 'error' | 'warning' | 'info' | 'off'>;
  maxStates: number;
  simulationTimeMs: number;
  maxFileSize: number;
  exclude: string[];
  /** Extra API models (`.kernlife.json` format), relative to the first workspace folder; "" = `.kernlife.json` there if present. */
  apiModels: string;
  /** Threads that extract files for the workspace index (0: one per core). */
  indexThreads: number;
}
const DEFAULT_SETTINGS: Settings = {
  enable: true, pinPolicy: 'upstream', minimumConfidence: 'low', severity: {},
  maxStates: 40_000, simulationTimeMs: 30_000, maxFileSize: DEFAULT_OPTIONS.maxFileBytes, exclude: [], apiModels: '',
  indexThreads: 0,
};
/** Workspace trust (from the client): an untrusted workspace's API models file is not loaded. */
let trusted = true;
/** The API models in effect (parsed JSON and where it came from), for every extraction. */
let models: { json: unknown; source: string } | undefined;

function loadModels(): void {
  models = undefined;
  for (const st of docStates.values()) { st.inc.reset(); st.last = null; } // other API rows: other facts for every function
  const base = folders[0];
  if (!base) return;
  const file = path.resolve(base, settings.apiModels || '.kernlife.json');
  if (!fs.existsSync(file)) { if (settings.apiModels) log(`API models file ${file} not found`); return; }
  if (!trusted) { log(`restricted mode (untrusted workspace): not loading the API models in ${file}`); return; }
  try {
    models = { json: JSON.parse(fs.readFileSync(file, 'utf8')), source: file };
    log(`API models from ${file}`);
  } catch (e) {
    connection.console.error(`kernlife: cannot read ${file}: ${(e as Error).message}`);
  }
}
let settings: Settings = { ...DEFAULT_SETTINGS };

function readSettings(raw: unknown): Settings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Partial<Settings>;
  const pick = <K extends keyof Settings>(k: K, ok: (v: unknown) => boolean): Settings[K] => (ok(r[k]) ? r[k] as Settings[K] : DEFAULT_SETTINGS[k]);
  return {
    enable: pick('enable', (v) => typeof v === 'boolean'),
    pinPolicy: pick('pinPolicy', (v) => PIN_POLICIES.includes(v as PinPolicy)),
    minimumConfidence: pick('minimumConfidence', (v) => v === 'low' || v === 'medium' || v === 'high'),
    severity: pick('severity', (v) => !!v && typeof v === 'object'),
    maxStates: pick('maxStates', (v) => Number.isInteger(v) && (v as number) > 0),
    simulationTimeMs: pick('simulationTimeMs', (v) => Number.isInteger(v) && (v as number) > 0),
    maxFileSize: pick('maxFileSize', (v) => Number.isInteger(v) && (v as number) > 0),
    exclude: pick('exclude', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string')),
    apiModels: pick('apiModels', (v) => typeof v === 'string'),
    indexThreads: pick('indexThreads', (v) => Number.isInteger(v) && (v as number) >= 0),
  };
}

/**
 * Searches are deterministic in their model and budget: an edit that leaves a table's model as
 * it was (a comment, a function the table does not reach) reuses the last result. Searches cut
 * by the clock or cancelled are not kept.
 */
const simCache = new Map<string, SimResult>();
function simKey(model: TableModel, options: SimOptions): string {
  const { cancelled: _c, ...budget } = options;
  // what the search reads of the model (tables with the same handlers share a result)
  return JSON.stringify([searchKey(model), budget]);
}
function keep(key: string, r: SimResult): void {
  // a search cut by the state budget is as deterministic as a complete one; one cut by the clock is not
  if (r.status === 'complete' || (r.status === 'truncated' && r.limit?.startsWith('states'))) {
    simCache.set(key, r);
    if (simCache.size > 4000) simCache.delete(simCache.keys().next().value!);
  }
}
function cachedSimulate(model: TableModel, options: SimOptions): SimResult {
  const key = simKey(model, options);
  const hit = simCache.get(key);
  if (hit) { simCache.delete(key); simCache.set(key, hit); return hit; }
  const saved = savedSearch(key);
  if (saved) return saved;
  const r = simulate(model, options);
  keep(key, r);
  searchesRun++;
  return r;
}

const settingsCheck = () => ({ pinPolicy: settings.pinPolicy, sim: { maxStates: settings.maxStates, timeMs: settings.simulationTimeMs }, simulate: cachedSimulate, trackDeps: true });

/** A glob (`**`, `*`, `?`) as a test on a path relative to a workspace folder. */
function globTest(glob: string): (rel: string) => boolean {
  const re = new RegExp('^' + glob.split('**').map((part) => part.split('*').map((x) => x.split('?').map((y) => y.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('[^/]')).join('[^/]*')).join('.*') + '$');
  return (rel) => re.test(rel);
}
function excluded(file: string): boolean {
  if (!settings.exclude.length) return false;
  const tests = settings.exclude.map(globTest);
  return folders.some((f) => { const rel = path.relative(f, file); return !rel.startsWith('..') && tests.some((t) => t(rel)); });
}

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const index = new Index();
index.kbuild = new KbuildReader(index, KBUILD_IO);
const DEBOUNCE_MS = 150;

/**
 * Per table (by `tableIds`): its findings as its own check gave them (before they are merged
 * with other tables' at the same location) and what its model read from the index. A re-check
 * replaces exactly the tables it ran; an edit re-checks the tables whose reads it changed.
 */
const tableState = new Map<string, { raw: Finding[]; deps: Set<string> | null }>();
/** The user-space programs' findings (every re-check walks them all). */
let programFindings: Finding[] = [];
/** What was last published, merged (quick fixes look findings up here). */
let current: Finding[] = [];
/** URIs we published diagnostics for, so a cleared file gets an empty list. */
const published = new Set<string>();
let folders: string[] = [];
let ready = false;
/** The whole-workspace check after indexing has been taken: findings exist for every table. */
let checked = false;
/**
 * Tables (ids) whose findings may be out of date: an edit changed what their models read, and
 * no re-check of them has been published since (it failed, or a newer edit came first).
 */
const staleTables = new Set<string>();
/** A re-check of every table (settings changed) has not been published yet. */
let staleAll = false;
/** The whole-workspace check (recheckAll) is running: it publishes for the newest edit when done. */
let fullCheckRunning = false;
/** Per open document: the previous tree and per-function facts (incremental extraction), and the facts last indexed. */
const docStates = new Map<string, { inc: DocumentState; last: FileFacts | null }>();
/** `KERNLIFE_LSP_TIMING=1`: log where each edit's time went. */
const TIMING = !!process.env.KERNLIFE_LSP_TIMING;
/** Bumped by every edit: a check started before the newest edit is not published. */
let generation = 0;
const timers = new Map<string, NodeJS.Timeout>();

/**
 * The persistent index cache (cache.ts), when the client gives a storage directory
 * (`initializationOptions.storagePath`) or the server was started with `--cache-dir DIR`.
 */
let cacheDir: string | undefined;
let cache: IndexCache | null = null;
/** Bumped by every workspace index pass: only the newest one reads and writes the cache. */
let indexPass = 0;
/** What the last index pass did per file: extracted, or taken from the cache. */
const indexStats = { extracted: 0, cached: 0 };
let bundleHash: string | undefined;
/** The last index pass that went through every file (its cache entries may be written). */
let indexedPass = 0;

/** The last session's search results (cache.ts), by the sha1 of their key; dropped once the first check is done. */
let savedSearches: Map<string, SimResult> | null = null;
/** Searches run since the search results were last written. */
let searchesRun = 0;
function savedSearch(key: string): SimResult | undefined {
  const r = savedSearches?.get(sha1(key));
  if (r) keep(key, r);
  return r;
}
/** Writes the index cache and, if searches ran, the search results (after the first check, and at shutdown). */
function saveCache(): void {
  if (!cache) return;
  try { cache.save(); } catch (e) { fail('index cache write', e); }
  if (!searchesRun) return;
  searchesRun = 0;
  try { cache.saveSearches([...simCache].map(([k, r]) => [sha1(k), r])); } catch (e) { fail('search cache write', e); }
}

/** What every cached file depends on: this build of kernlife, the parser, the API models, the folders. */
function cacheKey(): string {
  if (bundleHash === undefined) { try { bundleHash = sha1(fs.readFileSync(__filename)); } catch { bundleHash = 'unknown'; } }
  return sha1(JSON.stringify([bundleHash, parserBackend(), process.versions.v8, models ?? null, folders]));
}

/** A file's cache name: its path relative to its workspace folder (prefixed with the folder's number after the first). */
function relOf(file: string): string {
  for (let i = 0; i < folders.length; i++) {
    const rel = path.relative(folders[i], file);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return i ? `${i}:${rel}` : rel;
  }
  return file;
}

const log = (m: string) => connection.console.info(`kernlife: ${m}`);
const fail = (what: string, e: unknown) => connection.console.error(`kernlife: ${what} failed: ${(e as Error)?.stack ?? e}`);

const toPath = (uri: string): string => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);
const toUri = (file: string): string => (/^[a-z]+:/.test(file) ? file : pathToFileURL(file).toString());
const range = (l: Loc) => ({ start: { line: Math.max(0, l.line - 1), character: Math.max(0, l.col - 1) }, end: { line: Math.max(0, l.endLine - 1), character: Math.max(0, l.endCol - 1) } });
const point = (l: Loc) => ({ start: { line: Math.max(0, l.line - 1), character: Math.max(0, l.col - 1) }, end: { line: Math.max(0, l.line - 1), character: Math.max(0, l.col - 1) } });

/** The rule pages ship with the extension: dist/server.js -> ../docs/rules/<id>.md */
function docsUri(rule: string): string | undefined {
  const f = path.join(__dirname, '..', 'docs', 'rules', `${rule}.md`);
  return fs.existsSync(f) ? pathToFileURL(f).toString() : undefined;
}

connection.onInitialize(async (params) => {
  await initParser(); // native, else web-tree-sitter (KERNLIFE_PARSER forces one); nothing parses before initialize
  connection.console.info(`kernlife: ${parserInfo()}`);
  folders = (params.workspaceFolders ?? []).map((f) => toPath(f.uri));
  const io = params.initializationOptions as { settings?: unknown; trusted?: unknown; storagePath?: unknown } | undefined;
  settings = readSettings(io?.settings);
  trusted = io?.trusted !== false;
  loadModels();
  if (!folders.length && params.rootUri) folders = [toPath(params.rootUri)];
  const argDir = process.argv.indexOf('--cache-dir');
  cacheDir = typeof io?.storagePath === 'string' && io.storagePath ? io.storagePath : argDir >= 0 ? process.argv[argDir + 1] : undefined;
  if (cacheDir && folders.length) {
    cache = new IndexCache(IndexCache.fileFor(cacheDir, folders), cacheKey(), log);
    savedSearches = cache.loadSearches();
  }
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      documentSymbolProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.SourceFixAll + '.kernlife'] },
      codeLensProvider: { resolveProvider: false },
    },
    serverInfo: { name: 'kernlife' },
  };
});

connection.onInitialized(() => {
  void indexWorkspace().catch((e) => fail('workspace index', e));
});

function extractText(file: string, text: string, inc?: DocumentState): ExtractResult | null {
  if (text.length > settings.maxFileSize) { log(`${file}: larger than ${settings.maxFileSize} bytes (kernlife.maxFileSize), skipped`); inc?.reset(); return null; }
  try {
    const r = extract(file, text, { ...DEFAULT_OPTIONS, maxFileBytes: settings.maxFileSize, level: 'facts', ...(models ? { config: models } : {}), ...(inc ? { incremental: inc.begin(text) } : {}) });
    inc?.commit();
    return r;
  } catch (e) {
    inc?.reset();
    fail(`extract ${file}`, e);
    return null;
  }
}

/**
 * Whether two extractions of a file give the same facts to everything after extraction (the
 * index, the models, the rules): all but the timings. Functions kept from the previous
 * extraction are the same objects, so an edit compares only what it re-walked.
 */
function sameFacts(a: FileFacts, b: FileFacts): boolean {
  if (a === b) return true;
  if (a.functions.length !== b.functions.length) return false;
  for (let i = 0; i < a.functions.length; i++) {
    const x = a.functions[i], y = b.functions[i];
    if (x !== y && JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (k === 'functions' || k === 'stats' || k === 'braces') continue;
    if (JSON.stringify((a as unknown as Record<string, unknown>)[k]) !== JSON.stringify((b as unknown as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * A file of the workspace index extracted ahead on the pool's threads (extractAhead): its facts,
 * the key of the text they came from, and the file's stat taken before a worker read it.
 */
interface Ahead { facts: ExtractResult; text?: TextKey; st: { size: number; mtimeMs: number } | null }

/**
 * One file of the workspace index: from the cache when its key matches, else extracted (and
 * kept for the cache's next write when the text is the file's on disk). `ahead`: extracted
 * already (not used when the editor has the file open: its text is the document's).
 */
function indexFile(file: string, useCache: IndexCache | null, ahead?: Ahead): void {
  const open = documents.get(toUri(file));
  const rel = useCache ? relOf(file) : '';
  // stat before reading: a file changed in between is stored with the older mtime, so it misses next time
  const st = useCache ? (ahead && !open ? ahead.st : IndexCache.stat(file)) : null;
  let text: string | undefined;
  if (open) text = open.getText();
  if (useCache) {
    const hit = useCache.get(rel, file, st, text !== undefined ? sha1(text) : undefined);
    if (hit) {
      if (hit.key.chars > settings.maxFileSize) { log(`${file}: larger than ${settings.maxFileSize} bytes (kernlife.maxFileSize), skipped`); return; }
      index.update(hit.facts);
      indexStats.cached++;
      return;
    }
  }
  if (ahead && !open) {
    indexStats.extracted++;
    index.update(ahead.facts);
    if (useCache && st && ahead.text) useCache.put(rel, file, { size: st.size, mtimeMs: st.mtimeMs, ...ahead.text }, ahead.facts);
    else useCache?.miss(rel);
    return;
  }
  try { text ??= fs.readFileSync(file, 'utf8'); } catch { return; }
  const facts = extractText(file, text);
  indexStats.extracted++;
  if (!facts) { useCache?.miss(rel); return; }
  index.update(facts);
  if (!useCache) return;
  let onDisk = !open;
  if (open) { try { onDisk = fs.readFileSync(file, 'utf8') === text; } catch { onDisk = false; } }
  const key: FileKey | null = st && onDisk ? { size: st.size, mtimeMs: st.mtimeMs, sha1: sha1(text), chars: text.length } : null;
  if (key) useCache.put(rel, file, key, facts); else useCache.miss(rel);
}

/** Threads for the workspace index's extraction (kernlife.indexThreads; 0: one per core). */
function indexThreads(): number {
  return settings.indexThreads || (os.availableParallelism?.() ?? os.cpus().length);
}

/**
 * The files of an index pass that the cache cannot give and no editor has open, extracted on
 * worker threads (cli/pool.ts, as `kernlife facts --jobs N` does: the workers read, normalise
 * and parse, this thread walks). indexWorkspace then takes them in file order, as if it had
 * extracted them itself. Nothing when one thread is asked for or few files miss.
 */
async function extractAhead(files: string[], useCache: IndexCache | null, progress: WorkDoneProgressServerReporter): Promise<Map<string, Ahead>> {
  const ahead = new Map<string, Ahead>();
  const jobs = indexThreads();
  if (jobs <= 1) return ahead;
  const want: string[] = [];
  const stats: (Ahead['st'])[] = [];
  for (const file of files) {
    if (documents.get(toUri(file))) continue;
    const st = useCache ? IndexCache.stat(file) : null;
    if (useCache?.fresh(relOf(file), file, st)) continue;
    want.push(file);
    stats.push(st);
  }
  if (want.length < 8) return ahead;
  const options: PoolOptions = { ...DEFAULT_OPTIONS, maxFileBytes: settings.maxFileSize, level: 'facts', ...(models ? { config: models } : {}), keyTexts: true };
  await runPool(want, jobs, options, path.join(__dirname, 'extract-worker.js'), (r, done) => {
    // (a file the pool skips, too large, binary or unreadable, is left to indexFile, which says
    // why as it does with one thread)
    if (r.ok) ahead.set(r.file, { facts: r.facts, ...(r.text ? { text: r.text } : {}), st: stats[r.id] });
    if (done % 25 === 0) progress.report(Math.round((100 * done) / files.length), `${done}/${files.length} files (${Math.min(jobs, want.length)} threads)`);
  }, true, () => progress.token.isCancellationRequested);
  if (progress.token.isCancellationRequested) log(`index cancelled: ${ahead.size} of ${want.length} files extracted on worker threads`);
  return ahead;
}

async function indexWorkspace(): Promise<void> {
  const files = (folders.length ? walk(folders).files : []).filter((f) => !excluded(f));
  checked = false;
  index.recordChanges(false); // the check at the end builds every model
  const pass = ++indexPass;
  const progress = await connection.window.createWorkDoneProgress();
  progress.begin('kernlife: indexing', 0, `${files.length} files`, true);
  const t0 = Date.now();
  if (cache) { cache.begin(cacheKey()); if (pass === 1) cache.load(); }
  indexStats.extracted = 0;
  indexStats.cached = 0;
  let n = 0;
  let cancelled = false;
  let ahead = new Map<string, Ahead>();
  try {
    ahead = await extractAhead(files, cache, progress);
  } catch (e) {
    fail('workspace index on worker threads (extracting here instead)', e);
  }
  for (const file of files) {
    if (progress.token.isCancellationRequested) { cancelled = true; break; }
    indexFile(file, pass === indexPass ? cache : null, ahead.get(file));
    if (++n % 25 === 0) {
      progress.report(Math.round((100 * n) / files.length), `${n}/${files.length} files`);
      await new Promise<void>((r) => setImmediate(r)); // let edits and requests in
    }
  }
  progress.done();
  log(`indexed ${n} files in ${Date.now() - t0} ms${ahead.size && !cancelled ? ` (${ahead.size} extracted on ${Math.min(indexThreads(), ahead.size)} threads)` : ''}`);
  if (cache && pass === indexPass) {
    const s = cache.stats;
    log(`index cache: ${s.hits} hits, ${s.misses} misses${s.corrupt ? ` (${s.corrupt} unusable)` : ''}; ${indexStats.extracted} files extracted`);
  }
  ready = true;
  index.recordChanges();
  if (!cancelled) indexedPass = pass;
  await recheckAll(generation);
  // written after the first results are out (a cancelled pass would drop the files it did not reach)
  if (cache && pass === indexPass && !cancelled) { savedSearches = null; saveCache(); }
}

/** Re-check the tables with these ids (null: all of them) and publish. */
function recheck(ids: Set<string> | null, gen: number, editedUri?: string): void {
  if (!ids) { staleAll = true; index.takeChanges(); } // every model is built now
  let res: CheckResult;
  try {
    res = checkIndex(index, { ...(ids ? { tables: ids } : {}), ...settingsCheck(), cancelled: () => gen !== generation });
  } catch (e) {
    fail('check', e);
    return;
  }
  take(res, ids, gen, editedUri);
}

/**
 * The whole-workspace check after indexing: models here, searches on worker threads (one per
 * core; a search is pure, so the results are those of the one-thread check), results cached.
 */
async function recheckAll(gen: number): Promise<void> {
  fullCheckRunning = true;
  try { await recheckAllNow(gen); } finally { fullCheckRunning = false; }
}
async function recheckAllNow(gen: number): Promise<void> {
  let res: CheckResult;
  try {
    const opts = settingsCheck();
    index.takeChanges(); // every model is built now: what changed before does not matter
    const so = simOptions(opts);
    // a model's search starts on a worker as soon as it is built, while the others are built
    const searches = new SearchPool(os.availableParallelism?.() ?? os.cpus().length, so, path.join(__dirname, 'sim-worker.js'), () => {});
    const keys: string[] = [];
    const results: (SimResult | null)[] = [];
    const plan = planCheck(index, {
      ...opts,
      onModel: (i, m, skip) => {
        if (skip) return;
        keys[i] = simKey(m, so);
        const cached = simCache.get(keys[i]) ?? savedSearch(keys[i]);
        if (cached) results[i] = cached; else searches.submit(i, m);
      },
    });
    const found = await searches.finish(plan.models.length);
    found.forEach((r, i) => { if (r) { results[i] = r; keep(keys[i], r); searchesRun++; } });
    for (let i = 0; i < plan.models.length; i++) results[i] ??= null;
    // an edit came while the searches ran: check again from the index as it is now (the
    // searches whose models did not change come from the cache)
    if (gen !== generation) { if (ready) await recheckAllNow(generation); return; }
    res = finishCheck(index, plan, results, opts);
  } catch (e) {
    fail('check (workers)', e);
    recheck(null, gen);
    return;
  }
  take(res, null, gen);
}

function take(res: CheckResult, ids: Set<string> | null, gen: number, editedUri?: string): void {
  if (gen !== generation) return; // a newer edit arrived: its own check will publish
  if (ids) { for (const id of ids) { staleTables.delete(id); tableState.delete(id); } } else { staleTables.clear(); tableState.clear(); checked = true; staleAll = false; }
  for (const r of res.runs) if (r.id !== undefined) tableState.set(r.id, { raw: r.raw ?? [], deps: r.deps ?? null });
  programFindings = res.programFindings ?? [];
  publish(editedUri);
}

/**
 * Every table's findings in the order a whole check makes them (files sorted, tables in file
 * order, then the programs), merged as check merges them.
 */
function allFindings(): Finding[] {
  const raw: Finding[] = [];
  for (const file of index.fileList()) {
    const ff = index.fileFacts(file);
    if (!ff?.tables.length) continue;
    for (const id of tableIds(ff.tables)) { const st = tableState.get(id); if (st) raw.push(...st.raw); }
  }
  raw.push(...programFindings);
  return combineFindings(index, raw);
}

const CONF = { low: 0, medium: 1, high: 2 };

function diagnosticsOf(f: Finding): { file: string; diag: Diagnostic }[] {
  if (!settings.enable || CONF[f.confidence] < CONF[settings.minimumConfidence]) return [];
  const level = settings.severity[f.rule] ?? f.severity;
  if (level === 'off') return [];
  const severity = level === 'error' ? DiagnosticSeverity.Error : level === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
  const href = docsUri(f.rule);
  const related: DiagnosticRelatedInformation[] = [
    ...f.related.map((r) => ({ location: { uri: toUri(r.loc.file), range: point(r.loc) }, message: r.message })),
    ...f.trace.filter((s) => s.loc).map((s, i) => ({ location: { uri: toUri(s.loc!.file), range: point(s.loc!) }, message: `step ${i + 1} (${s.actor}): ${s.event}${s.handler ? ` [${s.handler}]` : ''} — ${s.message}` })),
  ];
  const base = { source: 'kernlife', code: f.rule, ...(href ? { codeDescription: { href } } : {}), relatedInformation: related, data: { confidence: f.confidence, trace: f.trace } };
  const out = [{ file: f.loc.file, diag: { ...base, range: range(f.loc), severity, message: `${f.message} [confidence ${f.confidence}]` } as Diagnostic }];
  // the table's own file learns about it too (a hint at the table, pointing at the primary)
  const table = f.related.find((r) => r.message.startsWith('ops table ') && r.loc.file !== f.loc.file);
  if (table) {
    out.push({ file: table.loc.file, diag: { ...base, range: point(table.loc), severity: DiagnosticSeverity.Information,
      message: `${f.rule}: ${path.basename(f.loc.file)}:${f.loc.line} — ${f.message.split('. ')[0]}`,
      relatedInformation: [{ location: { uri: toUri(f.loc.file), range: range(f.loc) }, message: 'the finding' }, ...related] } });
  }
  return out;
}

/** Publishes every file's diagnostics; `editedUri` (a document just analysed) gets its list even when empty, for its version. */
function publish(editedUri?: string): void {
  const byUri = new Map<string, Diagnostic[]>();
  if (editedUri) byUri.set(editedUri, []);
  current = allFindings();
  for (const f of current) for (const { file, diag } of diagnosticsOf(f)) {
    const uri = toUri(file);
    (byUri.get(uri) ?? byUri.set(uri, []).get(uri)!).push(diag);
  }
  for (const uri of published) if (!byUri.has(uri)) byUri.set(uri, []);
  for (const [uri, diagnostics] of [...byUri].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const doc = documents.get(uri);
    void connection.sendDiagnostics({ uri, ...(doc ? { version: doc.version } : {}), diagnostics });
    if (diagnostics.length) published.add(uri); else published.delete(uri);
  }
}

documents.onDidChangeContent((ev) => {
  const uri = ev.document.uri;
  generation++;
  clearTimeout(timers.get(uri));
  timers.set(uri, setTimeout(() => {
    timers.delete(uri);
    try { analyseEdit(uri); } catch (e) { fail('edit', e); }
  }, DEBOUNCE_MS));
});

documents.onDidClose((ev) => {
  // the index keeps the facts of the last version; a reopened document starts from scratch
  docStates.get(ev.document.uri)?.inc.reset();
  docStates.delete(ev.document.uri);
});

/**
 * After `facts` were found equal to `kept`, function by function where they are not the same
 * objects: the document keeps `kept`'s objects (those the index summarised), so the next edit
 * compares the functions it did not walk by identity.
 */
function adopt(ds: { inc: DocumentState; last: FileFacts | null }, facts: FileFacts, kept: FileFacts): void {
  if (facts === kept || facts.functions.length !== kept.functions.length) return;
  const equal = new Map<FunctionFacts, FunctionFacts>();
  facts.functions.forEach((f, i) => { const k = kept.functions[i]; if (f !== k && f.name === k.name) equal.set(f, k); });
  if (!equal.size) return;
  ds.inc.adopt(equal);
  ds.last = kept;
}

/** An edit after its debounce: extract (incrementally), update the index if the facts changed, re-check what they reach. */
function analyseEdit(uri: string): void {
  const doc = documents.get(uri);
  if (!doc) return;
  const gen = generation;
  const file = toPath(uri);
  const t0 = performance.now();
  let ds = docStates.get(uri);
  if (!ds) docStates.set(uri, (ds = { inc: new DocumentState(), last: null }));
  const facts = extractText(file, doc.getText(), ds.inc);
  if (!facts) return;
  const t1 = performance.now();
  const before = ds.last ?? index.fileFacts(file);
  const same = !!before && sameFacts(before, facts);
  ds.last = facts;
  if (same) adopt(ds, facts, before!);
  const t2 = performance.now();
  const timing = (what: string) => {
    if (!TIMING) return;
    const t3 = performance.now();
    const s = ds!.inc.stats;
    log(`edit ${path.basename(file)} v${doc.version}: extract ${(t1 - t0).toFixed(1)} ms (parse ${facts.stats.parseMs.toFixed(1)}${s.incremental ? ' incremental' : ''}, ${s.walked} functions walked, ${s.kept} kept), compare ${(t2 - t1).toFixed(1)} ms, ${what} ${(t3 - t2).toFixed(1)} ms`);
  };
  if (same) {
    // nothing the index or a model reads changed (a comment, whitespace within a line): the
    // findings stand; publish them for this version, after any re-check still owed
    if (!ready || (!checked && fullCheckRunning)) return; // the workspace check at the end of indexing publishes
    if (!checked || staleAll) recheck(null, gen, uri);
    else if (staleTables.size) recheck(new Set(staleTables), gen, uri); else publish(uri);
    timing(staleTables.size ? 'same facts, stale re-check' : 'same facts, publish');
    return;
  }
  const indexed = index.fileFacts(file);
  let dropped: string[];
  try { dropped = index.update(facts, { byFunction: true }); } catch (e) { fail('index update', e); return; }
  const stored = index.fileFacts(file);
  if (stored) adopt(ds, facts, stored);
  if (!ready || (!checked && fullCheckRunning)) return; // the workspace check (at the end of indexing, or running) covers it
  if (!checked || staleAll) { recheck(null, gen, uri); timing('index + re-check of every table'); return; }
  // the tables to re-check: those whose model read something the update changed (a summary
  // dropped through a changed callee, a resolution, a registration, the file's flags), those
  // of this file whose definition changed, and those still owed a re-check
  const changes = index.takeChanges();
  const ids = new Set<string>(staleTables);
  const was = new Map<string, string>();
  if (indexed) tableIds(indexed.tables).forEach((id, i) => was.set(id, JSON.stringify(indexed.tables[i])));
  const now = tableIds(facts.tables);
  now.forEach((id, i) => { if (was.get(id) !== JSON.stringify(facts.tables[i])) ids.add(id); });
  // a table gone from this file: re-checking it drops its findings
  for (const id of was.keys()) if (!now.includes(id)) ids.add(id);
  for (const [id, st] of tableState) {
    if (ids.has(id)) continue;
    if (!st.deps) { ids.add(id); continue; }
    const [small, large] = st.deps.size < changes.size ? [st.deps, changes] : [changes, st.deps];
    for (const c of small) if (large.has(c)) { ids.add(id); break; }
  }
  for (const id of ids) staleTables.add(id);
  recheck(ids, gen, uri);
  timing(`index + re-check of ${ids.size} tables (${dropped.length} summaries dropped, ${changes.size} changes)`);
}

connection.onDocumentSymbol((p): DocumentSymbol[] => {
  try {
    const doc = documents.get(p.textDocument.uri);
    if (!doc) return [];
    const f = extract(toPath(p.textDocument.uri), doc.getText(), { ...DEFAULT_OPTIONS, level: 'tables' });
    const tables: DocumentSymbol[] = f.tables.map((t) => ({
      name: t.index !== undefined ? `${t.name}[${t.index}]` : t.name,
      detail: `struct ${t.struct}${t.macro ? ` (${t.macro})` : ''}`,
      kind: SymbolKind.Struct,
      range: range(t.loc),
      selectionRange: range(t.loc),
      children: t.fields.map((fl) => ({ name: `.${fl.field}`, detail: fl.value, kind: SymbolKind.Field, range: range(fl.loc), selectionRange: range(fl.loc) })),
    }));
    const fns: DocumentSymbol[] = f.functions.map((fn) => ({ name: fn.name, kind: SymbolKind.Function, range: range(fn.loc), selectionRange: range(fn.nameLoc) }));
    return [...tables, ...fns];
  } catch (e) {
    fail('documentSymbol', e);
    return [];
  }
});

/** The text a fix is computed on: the open document if there is one, else the file on disk. */
function textOf(file: string): string | undefined {
  const doc = documents.get(toUri(file));
  if (doc) return doc.getText();
  try { return fs.readFileSync(file, 'utf8'); } catch { return undefined; }
}

function workspaceEdit(fix: Fix): WorkspaceEdit {
  const changes: WorkspaceEdit['changes'] = {};
  for (const e of fix.edits) {
    const uri = toUri(e.file);
    (changes[uri] ??= []).push({ range: { start: { line: e.line - 1, character: e.col - 1 }, end: { line: e.endLine - 1, character: e.endCol - 1 } }, newText: e.newText });
  }
  return { changes };
}

/** Findings whose primary location is in this file. */
function findingsIn(file: string): Finding[] {
  const out: Finding[] = [];
  for (const f of current) if (f.loc.file === file) out.push(f);
  return out;
}

connection.onCodeAction((p): CodeAction[] => {
  try {
    const file = toPath(p.textDocument.uri);
    const doc = documents.get(p.textDocument.uri);
    const actions: CodeAction[] = [];
    const only = p.context.only;
    const wantsFixAll = only?.some((k) => k.startsWith(CodeActionKind.SourceFixAll));
    if (wantsFixAll) {
      const fixes = findingsIn(file).map((f) => fixesFor(f, textOf).find((x) => x.safe)).filter((x): x is Fix => !!x);
      if (fixes.length) actions.push({ title: 'kernlife: apply all safe fixes', kind: CodeActionKind.SourceFixAll + '.kernlife', edit: workspaceEdit({ title: '', rule: '', safe: true, edits: fixes.flatMap((f) => f.edits) }) });
      return actions;
    }
    for (const d of p.context.diagnostics) {
      if (d.source !== 'kernlife') continue;
      const f = findingsIn(file).find((x) => x.rule === d.code && x.loc.line - 1 === d.range.start.line);
      if (!f) continue;
      const href = docsUri(f.rule);
      if (href) actions.push({ title: `kernlife: Show documentation for ${f.rule}`, kind: CodeActionKind.QuickFix, diagnostics: [d], command: { title: 'Show documentation', command: 'vscode.open', arguments: [href] } });
      const table = f.related.find((r) => r.message.startsWith('ops table '));
      if (table && f.tables[0]) actions.push({ title: `kernlife: Simulate ${f.tables[0]}`, kind: CodeActionKind.QuickFix, diagnostics: [d], command: { title: 'Simulate', command: 'kernlife.simulateTable', arguments: [toUri(table.loc.file), f.tables[0]] } });
      for (const fix of fixesFor(f, textOf)) {
        // a fix computed on text older than the document would be refused: skip it
        if (doc && fix.edits.some((e) => e.file === file && doc.getText({ start: { line: e.line - 1, character: e.col - 1 }, end: { line: e.endLine - 1, character: e.endCol - 1 } }) !== e.expect)) continue;
        actions.push({ title: `kernlife: ${fix.title}`, kind: CodeActionKind.QuickFix, diagnostics: [d], isPreferred: fix.safe, edit: workspaceEdit(fix) });
      }
    }
    return actions;
  } catch (e) {
    fail('codeAction', e);
    return [];
  }
});

connection.onRequest('kernlife/tables', (p: { uri: string }) => {
  try {
    const file = toPath(p.uri);
    return index.tables().filter((t) => t.loc.file === file);
  } catch (e) {
    fail('tables', e);
    return [];
  }
});

/** What `kernlife simulate --format json FILE` prints, for one document (optionally one table). */
connection.onRequest('kernlife/simulate', (p: { uri: string; table?: string; position?: { line: number; character: number } }) => {
  try {
    const file = toPath(p.uri);
    const res = checkIndex(index, { files: new Set([file]), ...settingsCheck() });
    let runs = p.table ? res.runs.filter((r) => r.model.table.name === p.table || `${r.model.table.name}[${r.model.table.index}]` === p.table) : res.runs;
    if (!p.table && p.position) {
      // the table under the cursor (its declaration's lines), else every table of the file
      const line = p.position.line + 1;
      const here = runs.filter((r) => r.model.table.loc.line <= line && line <= r.model.table.loc.endLine);
      if (here.length) runs = here;
    }
    return simulateJson(runs, p.table || (p.position && runs.length < res.runs.length) ? [] : res.programs, settings.pinPolicy, true);
  } catch (e) {
    fail('simulate', e);
    return { tables: [], programs: [], error: String((e as Error)?.message ?? e) };
  }
});

connection.onDidChangeConfiguration((p) => {
  try {
    const raw = (p.settings as { kernlife?: unknown } | null)?.kernlife;
    if (raw === undefined) return;
    const before = settings.apiModels;
    settings = readSettings(raw);
    log(`settings: ${JSON.stringify(settings)}`);
    if (settings.apiModels !== before) {
      // other API rows change every file's facts: index again
      loadModels();
      ready = false;
      void indexWorkspace().catch((e) => fail('workspace index', e));
      return;
    }
    if (ready) { generation++; recheck(null, generation); }
  } catch (e) {
    fail('settings', e);
  }
});

/** A "Simulate" lens on each ops table (the client's command opens the simulation view). */
connection.onCodeLens((p) => {
  try {
    const file = toPath(p.textDocument.uri);
    return index.tables().filter((t) => t.loc.file === file).map((t) => {
      const name = t.index !== undefined ? `${t.name}[${t.index}]` : t.name;
      return { range: point(t.loc), command: { title: `kernlife: simulate ${name}`, command: 'kernlife.simulateTable', arguments: [p.textDocument.uri, name] } };
    });
  } catch (e) {
    fail('codeLens', e);
    return [];
  }
});

connection.onRequest('kernlife/status', () => ({ ready, checked, files: index.fileList().length, generation, index: { ...indexStats }, cache: cache ? { ...cache.stats } : null }));

/** "kernlife: Clear Index Cache": deletes this workspace's cache file; the next start extracts every file. */
connection.onRequest('kernlife/clearCache', (): { cleared: boolean; file: string | null } => {
  if (!cache) return { cleared: false, file: null };
  const cleared = cache.clear();
  log(`index cache: ${cleared ? 'deleted' : 'could not delete'} ${cache.file}`);
  return { cleared, file: cache.file };
});

/** The indexed facts of a file, timings left out (tests compare the incremental path with a fresh server's). */
connection.onRequest('kernlife/facts', (p: { uri: string }) => {
  const f = index.fileFacts(toPath(p.uri));
  if (!f) return null;
  const { stats: _s, braces: _b, ...rest } = f as ExtractResult;
  return rest;
});

// a shutdown during the first check still keeps what the index extracted
connection.onShutdown(() => { if (cache && indexedPass === indexPass) saveCache(); });

documents.listen(connection);
connection.listen();
