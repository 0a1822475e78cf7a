/**
 * Output of `check` and `simulate`: text (compiler style), JSON (the documented shape), SARIF
 * 2.1.0 (rules from rule metadata, one threadFlow per actor, stable fingerprints).
 */
import type { ProgramRun } from '../sim/program';
import { traceSvg } from '../sim/diagram';
import { createHash } from 'node:crypto';
import type { Loc } from '../facts/types';
import type { CheckResult, TableRun } from '../check';
import { RULES } from '../rules/index';
import type { Finding } from '../rules/types';
import type { TraceStep } from '../sim/trace';

const VERSION = '0.1.0';

const at = (l: Loc) => `${l.file}:${l.line}:${l.col}`;

export function findingsText(r: CheckResult): string {
  const out: string[] = [];
  for (const f of r.findings) {
    out.push(`${at(f.loc)}: ${f.severity}: ${f.message} [${f.rule}, confidence ${f.confidence}]`);
    for (const rel of f.related) out.push(`${at(rel.loc)}: note: ${rel.message}`);
    if (f.trace.length) {
      out.push('  interleaving:');
      out.push(...traceLines(f.trace).map((l) => '  ' + l));
    }
    out.push('');
  }
  const s = r.stats;
  const by = Object.entries(s.findings).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  out.push(`kernlife: ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'} (${by}); ${s.tables} tables, ${s.simulated} simulated (${s.states} states${s.truncated ? `, ${s.truncated} over budget` : ''})${s.suppressed ? `, ${s.suppressed} suppressed` : ''}`);
  return out.join('\n') + '\n';
}

export function traceLines(trace: TraceStep[]): string[] {
  return trace.map((s, i) => {
    const where = s.loc ? `  (${s.loc.file}:${s.loc.line})` : '';
    const h = s.handler ? ` ${s.handler}:` : '';
    return `${String(i + 1).padStart(3)}. ${s.actor.padEnd(7)} ${s.event}${h ? ' —' + h : ''} ${s.message}${where}`;
  });
}

export function findingsJson(r: CheckResult): unknown {
  return {
    findings: r.findings.map((f) => ({
      rule: f.rule, severity: f.severity, confidence: f.confidence,
      file: f.loc.file, line: f.loc.line, column: f.loc.col, endLine: f.loc.endLine, endColumn: f.loc.endCol,
      message: f.message,
      related: f.related.map((x) => ({ file: x.loc.file, line: x.loc.line, message: x.message })),
      trace: f.trace.map((s) => ({ actor: s.actor, event: s.event, handler: s.handler ?? null, file: s.loc?.file ?? null, line: s.loc?.line ?? null, message: s.message })),
      tables: f.tables,
    })),
    stats: r.stats,
  };
}

const uri = (file: string) => encodeURI(file.replace(/\\/g, '/'));
const region = (l: Loc) => ({ startLine: l.line, startColumn: l.col, endLine: l.endLine, endColumn: l.endCol });
const phys = (l: Loc) => ({ artifactLocation: { uri: uri(l.file) }, region: region(l) });
const level = (s: Finding['severity']) => (s === 'info' ? 'note' : s);

export function fingerprint(f: Finding): string {
  // no line numbers: the fingerprint survives edits above the finding
  const msg = f.message.replace(/\d+/g, '#');
  return createHash('sha256').update(`${f.rule}\0${f.loc.file}\0${msg}`).digest('hex').slice(0, 32);
}

export function findingsSarif(r: CheckResult): unknown {
  const rules = RULES.map((x) => ({
    id: x.meta.id,
    name: x.meta.id.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase()),
    shortDescription: { text: x.meta.title },
    fullDescription: { text: x.meta.description },
    help: { text: `${x.meta.description}\n\nSee docs/rules/${x.meta.id}.md.` },
    defaultConfiguration: { level: level(x.meta.severity) },
    properties: { tags: ['lifetime', x.meta.kind], lifecycleProperties: x.meta.properties },
  }));
  const index = new Map(RULES.map((x, i) => [x.meta.id, i]));
  const results = r.findings.map((f) => {
    const actors = [...new Set(f.trace.map((s) => s.actor))];
    const threadFlows = actors.map((a) => ({
      id: a,
      message: { text: a },
      locations: f.trace.map((s, i) => ({ s, i })).filter(({ s }) => s.actor === a).map(({ s, i }) => ({
        executionOrder: i + 1,
        location: { ...(s.loc ? { physicalLocation: phys(s.loc) } : {}), message: { text: `${s.event}${s.handler ? ` [${s.handler}]` : ''}: ${s.message}` } },
      })),
    }));
    return {
      ruleId: f.rule,
      ruleIndex: index.get(f.rule),
      level: level(f.severity),
      message: { text: f.message },
      locations: [{ physicalLocation: phys(f.loc) }],
      relatedLocations: f.related.map((x, i) => ({ id: i + 1, physicalLocation: phys(x.loc), message: { text: x.message } })),
      ...(threadFlows.length ? { codeFlows: [{ message: { text: 'shortest interleaving found by the lifecycle simulator' }, threadFlows }] } : {}),
      partialFingerprints: { 'kernlife/v1': fingerprint(f) },
      properties: { confidence: f.confidence, tables: f.tables },
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'kernlife', version: VERSION, informationUri: 'https://example.invalid/kernlife', rules } },
      results,
      columnKind: 'unicodeCodePoints',
    }],
  };
}

// --- simulate -------------------------------------------------------------------------------

export function simulateText(runs: TableRun[], programs: ProgramRun[] = [], pinPolicy = 'upstream'): string {
  const out: string[] = [];
  const pins = runs.some((r) => [r.model.open, r.model.release, r.model.poll, ...r.model.io].some((h) => h?.variants.some((v) => v.steps.some((s) => s.op.op === 'pin'))));
  if (pins) out.push(`pin policy: ${pinPolicy}`, '');
  for (const p of programs) {
    out.push(`${at(p.loc)}: program ${p.fn}() (user space; pin policy ${p.policy})`);
    out.push(`  walked: ${p.steps} steps on the straight line (error branches not taken)`);
    if (!p.violations.length) out.push('  no violation: the registrations are covered by their leases for their whole life, or the policy asks for none');
    for (const v of p.violations) {
      out.push(`  violation ${v.property}: ${v.use.what}`);
      out.push(...traceLines(v.trace).map((l) => '    ' + l));
    }
    out.push('');
  }
  for (const { model: m, result: r, skipped } of runs) {
    const label = m.table.index !== undefined ? `${m.table.name}[${m.table.index}]` : m.table.name;
    out.push(`${at(m.table.loc)}: table ${label} (${m.table.kind}; ${m.provider} semantics)`);
    out.push(`  removal: ${m.severable ? 'can release open files early' : 'no early release'} — ${m.severReason}`);
    const hs = [m.open, m.poll, m.release, ...m.io];
    for (const h of hs) {
      if (!h) continue;
      const steps = h.variants[0].steps.filter((s) => s.op.op !== 'deref').map((s) => `${s.api}(${s.text})`).join(', ');
      out.push(`  .${h.field} = ${h.name}: ${h.variants.length} path${h.variants.length === 1 ? '' : 's'}${steps ? `; ${steps}` : ''}${h.incomplete ? ` [${h.incomplete}]` : ''}`);
    }
    for (const n of m.notes) out.push(`  note: ${n}`);
    if (!r) { out.push(`  not simulated: ${skipped}`); out.push(''); continue; }
    out.push(`  explored: ${r.states} states, ${r.transitions} transitions, depth ${r.depth}${r.depthBounded ? ' (bound reached)' : ''}, ${r.ms} ms — ${r.status}${r.limit ? ` (${r.limit})` : ''}`);
    out.push(`  events: ${r.events.join(', ')}`);
    if (!r.violations.length) {
      out.push('  no violation: every interleaving of these events within the bounds keeps the properties');
    }
    for (const v of r.violations) {
      out.push(`  violation ${v.property}: ${v.object} — ${v.use.what}`);
      out.push(...traceLines(v.trace).map((l) => '    ' + l));
    }
    out.push('');
  }
  return out.join('\n');
}

export function simulateJson(runs: TableRun[], programs: ProgramRun[] = [], pinPolicy = 'upstream', withSvg = false): unknown {
  const svg = (v: { trace: Parameters<typeof traceSvg>[0]; property: string }, title: string) => (withSvg ? { svg: traceSvg(v.trace, { title: `${title}: ${v.property}` }) } : {});
  return {
    pinPolicy,
    programs: programs.map((p) => ({
      function: p.fn, file: p.loc.file, line: p.loc.line, policy: p.policy, steps: p.steps,
      violations: p.violations.map((v) => ({
        property: v.property, use: v.use.what, ...svg(v, `${p.fn}()`),
        trace: v.trace.map((s) => ({ actor: s.actor, event: s.event, handler: s.handler ?? null, file: s.loc?.file ?? null, line: s.loc?.line ?? null, message: s.message })),
      })),
    })),
    tables: runs.map(({ model: m, result: r, skipped }) => ({
      table: m.table.name, ...(m.table.index !== undefined ? { index: m.table.index } : {}), kind: m.table.kind,
      file: m.table.loc.file, line: m.table.loc.line, provider: m.provider, severable: m.severable, severReason: m.severReason,
      handlers: [m.open, m.poll, m.release, ...m.io].filter(Boolean).map((h) => ({ field: h!.field, name: h!.name, variants: h!.variants.length, incomplete: h!.incomplete ?? null })),
      ...(r ? { status: r.status, limit: r.limit ?? null, states: r.states, transitions: r.transitions, depth: r.depth, events: r.events, ms: r.ms } : { status: 'skipped', reason: skipped }),
      violations: (r?.violations ?? []).map((v) => ({
        property: v.property, object: v.object, use: v.use.what, ...svg(v, m.table.name),
        free: v.free ? { file: v.free.loc.file, line: v.free.loc.line, api: v.free.api, chain: v.free.chain } : null,
        trace: v.trace.map((s) => ({ actor: s.actor, event: s.event, handler: s.handler ?? null, file: s.loc?.file ?? null, line: s.loc?.line ?? null, message: s.message })),
      })),
    })),
  };
}

/** `simulate --format svg`: the first violation's interleaving as a sequence diagram (null: none). */
export function simulateSvg(runs: TableRun[], programs: ProgramRun[] = []): string | null {
  for (const p of programs) if (p.violations[0]) return traceSvg(p.violations[0].trace, { title: `${p.fn}(): ${p.violations[0].property}` }) + '\n';
  for (const { model: m, result: r } of runs) {
    const v = r?.violations[0];
    if (v) return traceSvg(v.trace, { title: `${m.table.index !== undefined ? `${m.table.name}[${m.table.index}]` : m.table.name}: ${v.property}` }) + '\n';
  }
  return null;
}
