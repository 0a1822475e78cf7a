/**
 * Access-path algebra. Terms are plain data; these helpers normalise (`*&x` is `x`,
 * `(&x)->f` is `x.f`, `container_of(&x->m, T, m)` is `x`), substitute a callee's parameters
 * with a caller's arguments, and render paths the way a kernel developer writes them.
 */
import type { Term } from './types';

export function root(name: string, kind: 'param' | 'local' | 'global', param?: number, type?: string): Term {
  const t: Term = { t: 'root', name, kind };
  if (param !== undefined) t.param = param;
  if (type) t.type = type;
  return t;
}

export function field(base: Term, name: string, arrow: boolean): Term {
  // (&x)->f  ==  x.f ;  (*x).f  ==  x->f
  if (arrow && base.t === 'addr') return field(base.base, name, false);
  if (!arrow && base.t === 'deref') return field(base.base, name, true);
  return { t: 'field', base, name, arrow };
}

export function addr(base: Term): Term {
  if (base.t === 'deref') return base.base;
  return { t: 'addr', base };
}

export function deref(base: Term): Term {
  if (base.t === 'addr') return base.base;
  return { t: 'deref', base };
}

export function up(base: Term, type: string, member: string): Term {
  // container_of(&x->m, T, m) == x ; container_of(&x.m, T, m) == &x
  if (base.t === 'addr' && base.base.t === 'field' && base.base.name === member) {
    const f = base.base;
    return f.arrow ? f.base : addr(f.base);
  }
  return { t: 'up', base, type, member };
}

/** Rebuild a term bottom-up through the smart constructors (used after substitution). */
export function normalizeTerm(t: Term): Term {
  switch (t.t) {
    case 'field': return field(normalizeTerm(t.base), t.name, t.arrow);
    case 'addr': return addr(normalizeTerm(t.base));
    case 'deref': return deref(normalizeTerm(t.base));
    case 'index': return { t: 'index', base: normalizeTerm(t.base) };
    case 'up': return up(normalizeTerm(t.base), t.type, t.member);
    default: return t;
  }
}

export function rootOf(t: Term): Extract<Term, { t: 'root' }> | null {
  let cur: Term = t;
  for (;;) {
    switch (cur.t) {
      case 'root': return cur;
      case 'new': case 'null': return null;
      default: cur = cur.base;
    }
  }
}

/** Replace roots by `f(root)` (null: keep). Returns null when `f` says the root is unmappable. */
export function substitute(t: Term, f: (r: Extract<Term, { t: 'root' }>) => Term | null | undefined): Term | null {
  const go = (x: Term): Term | null => {
    switch (x.t) {
      case 'root': { const r = f(x); return r === undefined ? x : r; }
      case 'field': { const b = go(x.base); return b && field(b, x.name, x.arrow); }
      case 'addr': { const b = go(x.base); return b && addr(b); }
      case 'deref': { const b = go(x.base); return b && deref(b); }
      case 'index': { const b = go(x.base); return b && { t: 'index', base: b }; }
      case 'up': { const b = go(x.base); return b && up(b, x.type, x.member); }
      default: return x;
    }
  };
  return go(t);
}

export function render(t: Term): string {
  switch (t.t) {
    case 'root': return t.name;
    case 'field': {
      const b = render(t.base);
      return (t.base.t === 'deref' || t.base.t === 'addr' ? `(${b})` : b) + (t.arrow ? '->' : '.') + t.name;
    }
    case 'addr': return '&' + render(t.base);
    case 'deref': return '*' + render(t.base);
    case 'index': return render(t.base) + '[]';
    case 'up': return `container_of(${render(t.base)}, ${t.type}, ${t.member})`;
    case 'new': return `<new ${t.site}>`;
    case 'null': return 'NULL';
  }
}

/** Structural equality, by rendering (terms are small). */
export function sameTerm(a: Term | undefined | null, b: Term | undefined | null): boolean {
  if (!a || !b) return a === b;
  return render(a) === render(b);
}

/**
 * Hands out one object per distinct term: `intern(t)` returns a term equal to `t` (same fields,
 * same rendering) made of parts this table has seen before where it can. Terms are plain data
 * that nothing mutates, so a function's effects can share them: a parameter named by forty
 * calls is one object, not forty. Fewer objects to keep, copy into the old generation and send
 * between threads (on `kernel/` about a third of the objects the facts held).
 */
export class TermTable {
  /** Terms this table handed out: asked again (a local's binding, a shared base), they are the answer. */
  private canon = new Set<Term>();
  /** Roots by name (a handful per name at most: parameter, local, global). */
  private roots = new Map<string, Term[]>();
  private arrows = new Map<Term, Map<string, Term>>();
  private dots = new Map<Term, Map<string, Term>>();
  private kids = new Map<Term, Map<string, Term>>();

  intern(t: Term): Term {
    if (this.canon.has(t)) return t;
    let out: Term;
    switch (t.t) {
      case 'root': case 'new': case 'null': {
        const name = t.t === 'root' ? t.name : t.t === 'new' ? `\0new ${t.site}` : '\0null';
        let same = this.roots.get(name);
        if (!same) this.roots.set(name, (same = []));
        const had = t.t === 'root' ? same.find((x) => x.t === 'root' && x.kind === t.kind && x.param === t.param && x.type === t.type) : same[0];
        if (had) return had;
        same.push(t);
        out = t;
        break;
      }
      default: {
        const base = this.intern(t.base);
        // (`->` fields, `.` fields and the other kinds in separate maps: no key can be taken for another)
        const key = t.t === 'field' ? t.name : t.t === 'up' ? `${t.type}\0${t.member}` : t.t;
        const table = t.t === 'field' ? (t.arrow ? this.arrows : this.dots) : this.kids;
        let kids = table.get(base);
        if (!kids) table.set(base, (kids = new Map()));
        const had = kids.get(key);
        if (had) return had;
        out = base === t.base ? t : { ...t, base };
        kids.set(key, out);
      }
    }
    this.canon.add(out);
    return out;
  }
}
