/**
 * `.kernlife.json`: user rows for out-of-tree wrappers. Validated here (pure: the CLI and the
 * server read the file and hand over the parsed JSON).
 *
 *   { "apis": [ { "name": "mydrv_free_ctx", "effect": "free", "arg": 0, "mode": "now",
 *                 "header": "drivers/mydrv/ctx.h" } ],
 *     "annotations": ["__mydrv_cold"],
 *     "definers": [ { "macro": "MYDRV_IOCTL2", "returns": "long", "prefix": "mydrv_ioctl_" } ] }
 */
import type { EffectKind } from '../facts/types';
import type { ApiRow, DefinerRow, Knowledge } from './types';

const EFFECTS: ReadonlySet<string> = new Set<EffectKind>([
  'alloc', 'free', 'rcuWait', 'rcuBarrier', 'initWq', 'pollWait', 'genericPoll', 'wake', 'wakePollfree', 'notify',
  'getFile', 'fput', 'asyncInit', 'asyncArm', 'asyncCancel', 'pin', 'unpin', 'putPage', 'setLease', 'dropLease', 'mapFile', 'unmap', 'exit',
  'publish', 'unpublish', 'breakActive', 'unbreakActive', 'lock', 'unlock', 'sever', 'register', 'unregister',
  'moduleGet', 'modulePut',
]);

export interface ConfigResult {
  knowledge: Knowledge;
  problems: string[];
}

/** Merge user rows in front of the built-in ones (a user row for a name shadows the built-in rows). */
export function applyConfig(base: Knowledge, json: unknown, source: string): ConfigResult {
  const problems: string[] = [];
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { knowledge: base, problems: [`${source}: expected a JSON object`] };
  }
  const cfg = json as Record<string, unknown>;
  const rows: ApiRow[] = [];
  const apis = cfg.apis ?? [];
  if (!Array.isArray(apis)) problems.push(`${source}: "apis" must be an array`);
  else apis.forEach((r: unknown, i) => {
    const at = `${source}: apis[${i}]`;
    if (!r || typeof r !== 'object') { problems.push(`${at}: expected an object`); return; }
    const o = r as Record<string, unknown>;
    if (typeof o.name !== 'string' || !/^[A-Za-z_]\w*$/.test(o.name)) { problems.push(`${at}: "name" must be a C identifier`); return; }
    if (typeof o.effect !== 'string' || !EFFECTS.has(o.effect)) { problems.push(`${at}: "effect" must be one of ${[...EFFECTS].join(', ')}`); return; }
    if (o.arg !== undefined && o.arg !== 'ret' && !(Number.isInteger(o.arg) && (o.arg as number) >= 0)) { problems.push(`${at}: "arg" must be a argument index or "ret"`); return; }
    if (o.mode !== undefined && o.mode !== 'now' && o.mode !== 'rcu') { problems.push(`${at}: "mode" must be "now" or "rcu"`); return; }
    const row: ApiRow = { name: o.name, effect: o.effect as EffectKind, header: typeof o.header === 'string' ? o.header : source };
    if (o.arg !== undefined) row.arg = o.arg as ApiRow['arg'];
    if (o.mode !== undefined) row.mode = o.mode as ApiRow['mode'];
    if (typeof o.longterm === 'boolean') row.longterm = o.longterm;
    if (Number.isInteger(o.flagsArg)) row.flagsArg = o.flagsArg as number;
    if (Number.isInteger(o.callbackArg)) row.callbackArg = o.callbackArg as number;
    if (typeof o.owner === 'boolean') row.owner = o.owner;
    rows.push(row);
  });
  const annotations = Array.isArray(cfg.annotations) ? cfg.annotations.filter((a): a is string => typeof a === 'string') : [];
  const definers: DefinerRow[] = [];
  const defs = cfg.definers ?? [];
  if (!Array.isArray(defs)) problems.push(`${source}: "definers" must be an array`);
  else defs.forEach((r: unknown, i) => {
    const at = `${source}: definers[${i}]`;
    if (!r || typeof r !== 'object') { problems.push(`${at}: expected an object`); return; }
    const o = r as Record<string, unknown>;
    if (typeof o.macro !== 'string' || !/^[A-Za-z_]\w*$/.test(o.macro)) { problems.push(`${at}: "macro" must be a C identifier`); return; }
    if (typeof o.returns !== 'string' || !/^[A-Za-z_][\w ]*\**$/.test(o.returns)) { problems.push(`${at}: "returns" must be a C type (words and stars)`); return; }
    if (o.prefix !== undefined && (typeof o.prefix !== 'string' || !/^\w*$/.test(o.prefix))) { problems.push(`${at}: "prefix" must be identifier characters`); return; }
    definers.push({ macro: o.macro, returns: o.returns, prefix: (o.prefix as string | undefined) ?? '', header: typeof o.header === 'string' ? o.header : source });
  });
  const names = new Set(rows.map((r) => r.name));
  const macros = new Set(definers.map((d) => d.macro));
  return {
    knowledge: {
      ...base,
      apis: [...rows, ...base.apis.filter((r) => !names.has(r.name))],
      annotations: [...base.annotations, ...annotations],
      definers: [...definers, ...base.definers.filter((d) => !macros.has(d.macro))],
    },
    problems,
  };
}
