/**
 * Rules: what the product reports. A rule turns simulator violations (or, for structural
 * rules, a table model) into findings; its id is part of the product's contract (JSON, SARIF,
 * suppression comments, docs/rules/<id>.md).
 */
import type { Loc } from '../facts/types';
import type { TableModel } from '../sim/model';
import type { SimResult } from '../sim/explore';
import type { TraceStep, Violation } from '../sim/trace';
import type { ProgramRun } from '../sim/program';

export type Severity = 'error' | 'warning' | 'info';
export type Confidence = 'high' | 'medium' | 'low';

export interface RuleMeta {
  id: string;
  severity: Severity;
  /** One line, for SARIF shortDescription and `--help`. */
  title: string;
  /** The kernel mechanism, in a few sentences, for SARIF fullDescription. */
  description: string;
  /** The lifecycle-model properties it reports. */
  properties: string[];
  /** Interleaving rules report only what the simulator found. */
  kind: 'interleaving' | 'structural';
}

export interface Related {
  loc: Loc;
  message: string;
}

export interface Finding {
  rule: string;
  severity: Severity;
  confidence: Confidence;
  loc: Loc;
  message: string;
  related: Related[];
  trace: TraceStep[];
  /** Table(s) the finding came from: `name` (`name[3]` for array elements). */
  tables: string[];
}

export interface RuleContext {
  model: TableModel;
  result: SimResult | null;
  /** Confidence the model allows (low when the search was cut, medium when summaries were incomplete). */
  confidence: Confidence;
}

export interface Rule {
  meta: RuleMeta;
  fromViolation?(v: Violation, ctx: RuleContext): Finding | null;
  /** Violations of a user-space program walk (sim/program.ts). */
  fromProgram?(v: Violation, run: ProgramRun): Finding | null;
  structural?(ctx: RuleContext): Finding[];
}

export function tableLabel(m: TableModel): string {
  return m.table.index !== undefined ? `${m.table.name}[${m.table.index}]` : m.table.name;
}

export function chainText(chain: string[]): string {
  return chain.join(' -> ');
}
