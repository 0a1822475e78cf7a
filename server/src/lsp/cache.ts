/**
 * The persistent index cache: each workspace file's extracted facts, kept between sessions in a
 * directory the client gives (`initializationOptions.storagePath`: the VS Code extension's
 * workspace storage) or `--cache-dir DIR`, so reopening a kernel tree skips the parse of every
 * file that did not change.
 *
 * One file per workspace, `index-<hash of the folders>.bin`:
 *
 *   "KLIDX1\n" | u32 header length | header (JSON) | blobs
 *
 * The header holds the global key and, per file (by path relative to its workspace folder), its
 * validity key (size and mtime in ms on disk, the sha1 of its text, its length in UTF-16 units)
 * and where its blob is, with the blob's sha1. A blob is `v8.serialize` of the ExtractResult the
 * index held. The global key is the server bundle's own hash (any kernlife change), the parser
 * backend, the V8 version, the API models in effect and the folders: when it differs, nothing is
 * used. A file hits when its size and mtime match (it is not read) or, for a document open in
 * the editor, when its text's hash matches.
 *
 * Robustness: the cache is written to a temp file and renamed; a missing, truncated or corrupt
 * cache (bad magic, a header that does not parse, a blob whose hash or shape is wrong, one that
 * does not deserialize) is a miss for the files concerned, never an error: they are extracted.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { ExtractResult } from '../analysis';
import type { SimResult } from '../sim/explore';

const MAGIC = Buffer.from('KLIDX1\n');
const SEARCH_MAGIC = Buffer.from('KLSRC1\n');

/** What makes a file's cached facts valid. */
export interface FileKey { size: number; mtimeMs: number; sha1: string; chars: number }
interface Entry extends FileKey { file: string; off: number; len: number; blobSha1: string }
interface Header { key: string; entries: Record<string, Entry> }

export const sha1 = (data: string | Uint8Array): string => crypto.createHash('sha1').update(data).digest('hex');

export interface CacheStats { hits: number; misses: number; corrupt: number; loaded: boolean; file: string | null }

export class IndexCache {
  private header: Header | null = null;
  private buf: Buffer | null = null;
  /** The entries of the next write: kept blobs (from the file read) or facts to serialize. */
  private next = new Map<string, { key: FileKey; file: string; blob?: Buffer; blobSha1?: string; facts?: ExtractResult }>();
  private dirty = false;
  stats: CacheStats = { hits: 0, misses: 0, corrupt: 0, loaded: false, file: null };

  /**
   * @param file the cache file (its directory is created on write)
   * @param key the global key: nothing in a cache with another one is used
   */
  constructor(readonly file: string, private key: string, private log: (m: string) => void) {
    this.stats.file = file;
  }

  /** The cache file for these workspace folders in `dir`. */
  static fileFor(dir: string, folders: string[]): string {
    return path.join(dir, `index-${sha1(JSON.stringify(folders)).slice(0, 16)}.bin`);
  }

  /** Reads the cache file; anything wrong with it leaves the cache empty (every file misses). */
  load(): void {
    this.header = null;
    this.buf = null;
    let buf: Buffer;
    try { buf = fs.readFileSync(this.file); } catch { return; }
    try {
      if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a kernlife index cache');
      const hlen = buf.readUInt32LE(MAGIC.length);
      const start = MAGIC.length + 4;
      if (start + hlen > buf.length) throw new Error('truncated header');
      const h = JSON.parse(buf.subarray(start, start + hlen).toString('utf8')) as Header;
      if (!h || typeof h.key !== 'string' || !h.entries || typeof h.entries !== 'object') throw new Error('bad header');
      if (h.key !== this.key) { this.log(`index cache: ${this.file} is for another kernlife build, parser or API models; not used`); return; }
      this.header = h;
      this.buf = buf.subarray(start + hlen);
      this.stats.loaded = true;
      this.log(`index cache: ${Object.keys(h.entries).length} files in ${this.file} (${(buf.length / 1048576).toFixed(1)} MB)`);
    } catch (e) {
      this.stats.corrupt++;
      this.log(`index cache: ${this.file} unreadable (${(e as Error).message}); extracting every file`);
    }
  }

  /** The key a cached entry needs, without reading the file: its size and mtime. */
  static stat(file: string): { size: number; mtimeMs: number } | null {
    try { const s = fs.statSync(file); return { size: s.size, mtimeMs: Math.trunc(s.mtimeMs) }; } catch { return null; }
  }

  /**
   * The cached facts of `rel` (at absolute path `file`) if still valid: by size and mtime, or
   * (`textSha1`, a document open in the editor) by its text's hash. Undefined on a miss.
   */
  get(rel: string, file: string, st: { size: number; mtimeMs: number } | null, textSha1?: string): { facts: ExtractResult; key: FileKey } | undefined {
    const e = this.header?.entries[rel];
    if (!e || !this.buf || e.file !== file) return undefined;
    if (textSha1 !== undefined ? e.sha1 !== textSha1 : !st || e.size !== st.size || e.mtimeMs !== st.mtimeMs) return undefined;
    try {
      if (!Number.isInteger(e.off) || !Number.isInteger(e.len) || e.off < 0 || e.len <= 0 || e.off + e.len > this.buf.length) throw new Error('blob out of range');
      const blob = this.buf.subarray(e.off, e.off + e.len);
      if (sha1(blob) !== e.blobSha1) throw new Error('blob hash differs');
      const facts = v8.deserialize(blob) as ExtractResult;
      if (!facts || facts.file !== file || !Array.isArray(facts.functions) || !Array.isArray(facts.tables) || !Array.isArray(facts.problems)) throw new Error('not the facts of this file');
      const key: FileKey = { size: e.size, mtimeMs: e.mtimeMs, sha1: e.sha1, chars: e.chars };
      this.next.set(rel, { key, file, blob, blobSha1: e.blobSha1 });
      this.stats.hits++;
      return { facts, key };
    } catch (err) {
      this.stats.corrupt++;
      this.log(`index cache: entry for ${rel} unusable (${(err as Error).message}); extracting it`);
      return undefined;
    }
  }

  /** Whether get() would find an entry for `rel` by its size and mtime (nothing read, nothing counted). */
  fresh(rel: string, file: string, st: { size: number; mtimeMs: number } | null): boolean {
    const e = this.header?.entries[rel];
    return !!e && !!this.buf && !!st && e.file === file && e.size === st.size && e.mtimeMs === st.mtimeMs;
  }

  /** A file extracted from its text on disk: its facts go into the next write. */
  put(rel: string, file: string, key: FileKey, facts: ExtractResult): void {
    this.stats.misses++;
    // a parse cut by its time budget depends on the machine's load: not kept
    if (facts.problems.some((p) => /\(budget\)/.test(p.message))) return;
    this.next.set(rel, { key, file, facts });
    this.dirty = true;
  }

  /**
   * A file extracted but not to be written (an unsaved document, a file skipped): its entry in
   * the file read, if any, is carried over as it is (the next start checks its key again).
   */
  miss(rel: string): void {
    this.stats.misses++;
    const e = this.header?.entries[rel];
    if (!e || !this.buf || !Number.isInteger(e.off) || !Number.isInteger(e.len) || e.off < 0 || e.len <= 0 || e.off + e.len > this.buf.length) return;
    this.next.set(rel, { key: { size: e.size, mtimeMs: e.mtimeMs, sha1: e.sha1, chars: e.chars }, file: e.file, blob: this.buf.subarray(e.off, e.off + e.len), blobSha1: e.blobSha1 });
  }

  /** Starts the bookkeeping of an index pass (counts and the entries of the next write). */
  begin(key: string): void {
    if (key !== this.key) { this.key = key; this.header = null; this.buf = null; }
    this.next = new Map();
    this.dirty = false;
    this.stats = { hits: 0, misses: 0, corrupt: 0, loaded: this.stats.loaded, file: this.file };
  }

  /**
   * Writes the files indexed in this pass (temp file, then rename), unless every one of them
   * came from the cache file as it is. Drops the read buffer either way.
   */
  save(): void {
    const oldCount = this.header ? Object.keys(this.header.entries).length : -1;
    // (after a write, or with no cache file and nothing extracted, there is nothing to write)
    const changed = this.dirty || (oldCount >= 0 && oldCount !== this.next.size);
    this.header = null;
    this.buf = null;
    if (!changed) { this.next = new Map(); return; }
    const t0 = Date.now();
    const entries: Record<string, Entry> = {};
    const blobs: Buffer[] = [];
    let off = 0;
    for (const [rel, n] of this.next) {
      let blob = n.blob, blobSha1 = n.blobSha1;
      if (!blob) {
        try { blob = v8.serialize(n.facts); } catch { continue; }
        blobSha1 = sha1(blob);
      }
      entries[rel] = { ...n.key, file: n.file, off, len: blob.length, blobSha1: blobSha1! };
      blobs.push(blob);
      off += blob.length;
    }
    this.next = new Map();
    const head = Buffer.from(JSON.stringify({ key: this.key, entries } satisfies Header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(head.length);
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const fd = fs.openSync(tmp, 'w');
      try {
        for (const b of [MAGIC, len, head, ...blobs]) fs.writeSync(fd, b);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      this.dirty = false;
      this.log(`index cache: wrote ${Object.keys(entries).length} files to ${this.file} (${((MAGIC.length + 4 + head.length + off) / 1048576).toFixed(1)} MB) in ${Date.now() - t0} ms`);
    } catch (e) {
      try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to remove */ }
      this.log(`index cache: cannot write ${this.file}: ${(e as Error).message}`);
    }
  }

  /** The search results' file next to the index file (`searches-<hash>.bin`). */
  get searchFile(): string {
    return path.join(path.dirname(this.file), path.basename(this.file).replace(/^index-/, 'searches-'));
  }

  /**
   * The search results of the last session, by the sha1 of their search key (the model and the
   * budget, main.ts's simKey): a search is deterministic in those, so a table whose model did
   * not change is not searched again. Empty when the file is missing, damaged or for another key.
   */
  loadSearches(): Map<string, SimResult> {
    const out = new Map<string, SimResult>();
    let buf: Buffer;
    try { buf = fs.readFileSync(this.searchFile); } catch { return out; }
    try {
      if (buf.length < SEARCH_MAGIC.length + 20 || !buf.subarray(0, SEARCH_MAGIC.length).equals(SEARCH_MAGIC)) throw new Error('not a kernlife search cache');
      const payload = buf.subarray(SEARCH_MAGIC.length + 20);
      if (!crypto.createHash('sha1').update(payload).digest().equals(buf.subarray(SEARCH_MAGIC.length, SEARCH_MAGIC.length + 20))) throw new Error('hash differs');
      const v = v8.deserialize(payload) as { key: string; entries: [string, SimResult][] };
      if (!v || v.key !== this.key || !Array.isArray(v.entries)) return out;
      for (const [h, r] of v.entries) if (typeof h === 'string' && r && Array.isArray(r.violations) && Array.isArray(r.events)) out.set(h, r);
      this.log(`index cache: ${out.size} search results from ${this.searchFile}`);
    } catch (e) {
      this.log(`index cache: ${this.searchFile} unreadable (${(e as Error).message}); searching again`);
    }
    return out;
  }

  /** Writes the search results (by the sha1 of their key), temp file then rename. */
  saveSearches(entries: [string, SimResult][]): void {
    const tmp = `${this.searchFile}.${process.pid}.tmp`;
    try {
      const payload = v8.serialize({ key: this.key, entries });
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, Buffer.concat([SEARCH_MAGIC, crypto.createHash('sha1').update(payload).digest(), payload]));
      fs.renameSync(tmp, this.searchFile);
      this.log(`index cache: wrote ${entries.length} search results to ${this.searchFile} (${(payload.length / 1048576).toFixed(1)} MB)`);
    } catch (e) {
      try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to remove */ }
      this.log(`index cache: cannot write ${this.searchFile}: ${(e as Error).message}`);
    }
  }

  /** Deletes the cache files (the command "kernlife: Clear Index Cache"); the next index extracts everything. */
  clear(): boolean {
    this.header = null;
    this.buf = null;
    this.next = new Map();
    this.dirty = false;
    try { fs.rmSync(this.file, { force: true }); fs.rmSync(this.searchFile, { force: true }); return true; } catch { return false; }
  }
}
