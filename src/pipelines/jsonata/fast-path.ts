// The synchronous fast path: compiles the common subset of JSONata into plain closures, because jsonata 2.x awaits a
// promise at every step of every evaluation. Compilation refuses any node outside the subset (the expression then always
// runs in JSONata); at run time, any value whose JSONata semantics the closures do not replicate (an array met on a path,
// a type error, …) makes that one evaluation hand over to JSONata, so results are always JSONata's own.
import { bail, FAST_FUNCTIONS, jsonataDeepEqual, jsonataString, looksLikeFunction } from './builtins.ts';
import { truthy } from './truthy.ts';

/** What a fast path returns when JSONata must evaluate this input itself. */
export const NEEDS_JSONATA: unique symbol = Symbol('needs JSONata');

/** A compiled expression: the result for `input`, or `NEEDS_JSONATA`. Never throws. */
export type FastPath = (input: unknown) => unknown;

/** The JSONata limits that decide whether an expression may skip JSONata (see `compileFastPath`). */
export interface FastPathLimits {
  /** JSONata's evaluation depth limit (`stack`). */
  maxDepth: number;
  /** JSONata's sequence length limit. */
  maxSequence: number;
}

interface Node {
  type: string;
  value?: unknown;
  [key: string]: unknown;
}

interface Env {
  /** `$$`; also `$`, since no supported node changes the context. */
  root: unknown;
  /** Variables bound with `:=`, by slot. */
  vars: unknown[];
}

type Run = (env: Env) => unknown;

/** Compile-time variable scope: each block is one, as each block is a JSONata frame. */
interface Scope {
  names: Map<string, number>;
  parent: Scope | undefined;
}

class Unsupported extends Error {}

const COMMON_KEYS = ['type', 'value', 'position'];
const KEYS: Record<string, readonly string[]> = {
  path: ['steps'],
  name: [],
  variable: [],
  string: [],
  number: [],
  value: [],
  binary: ['lhs', 'rhs'],
  condition: ['condition', 'then', 'else'],
  block: ['expressions'],
  bind: ['lhs', 'rhs'],
  function: ['procedure', 'arguments'],
  '-': ['expression'],
  '[': ['expressions', 'consarray', 'predicate'],
  '{': ['lhs'],
};
const NO_VARS: unknown[] = [];
// Object constructor keys JSONata refuses (D1013), and the one a plain object cannot hold as a key.
const SPECIAL_KEYS = new Set(['_jsonata_lambda', '_jsonata_function', '__proto__']);

/**
 * The fast path for a parsed expression (`jsonata(src).ast()`), or undefined when the expression uses anything outside
 * the subset: field paths, `$`, `$$`, literals, object and array constructors, `[...][n]`, arithmetic, comparisons,
 * `and`/`or`, `in`, `&`, `? :`, blocks with `$name :=` bindings, and calls of the functions in FAST_FUNCTIONS.
 * An expression nested deeper than JSONata's depth limit is refused too, so JSONata reports the error.
 * Work is bounded by the expression's size (no loops, no user functions), so the time box cannot be overrun here.
 * @example
 * const fast = compileFastPath(jsonata('{ "to": email }').ast(), { maxDepth: 500, maxSequence: 1e6 });
 * fast?.({ email: 'u@x.com' }); // { to: 'u@x.com' }
 */
export function compileFastPath(ast: unknown, limits: FastPathLimits): FastPath | undefined {
  const compiler = new Compiler(limits);
  let run: Run;
  try {
    run = compiler.node(ast as Node, { names: new Map(), parent: undefined }, 1);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  if (compiler.depth >= limits.maxDepth) return undefined;
  const slots = compiler.slots;
  return (input) => {
    // JSONata wraps an array input in a sequence of its own: not replicated.
    if (Array.isArray(input) || looksLikeFunction(input)) return NEEDS_JSONATA;
    try {
      return run({ root: input, vars: slots === 0 ? NO_VARS : new Array<unknown>(slots) });
    } catch {
      // BAIL, or anything unforeseen: either way JSONata decides, error included.
      return NEEDS_JSONATA;
    }
  };
}

/** A field of an object, as JSONata looks it up; an array on the way (mapping, flattening) is JSONata's to handle. */
function lookup(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) bail();
  if (!Object.hasOwn(value, key)) return undefined;
  const found = (value as Record<string, unknown>)[key];
  if (Array.isArray(found) || looksLikeFunction(found)) bail();
  return found;
}

/** A number JSONata accepts in arithmetic (anything else is T2001/T2002/D1001 there). */
function numeric(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

class Compiler {
  /** Deepest nesting seen, counted as JSONata counts evaluation depth. */
  depth = 0;
  slots = 0;

  constructor(private readonly limits: FastPathLimits) {}

  node(n: Node, scope: Scope, depth: number): Run {
    if (n === null || typeof n !== 'object' || typeof n.type !== 'string') throw new Unsupported();
    this.depth = Math.max(this.depth, depth);
    const kind = n.type === 'unary' ? String(n.value) : n.type;
    const allowed = KEYS[kind];
    if (!allowed) throw new Unsupported();
    onlyKeys(n, allowed);
    switch (kind) {
      case 'string':
      case 'number':
      case 'value': {
        const v = n.value;
        return () => v;
      }
      case 'variable':
        return this.variable(n, scope);
      case 'path':
        return this.path(n, scope, depth);
      case 'binary':
        return this.binary(n, scope, depth);
      case 'condition':
        return this.condition(n, scope, depth);
      case 'block':
        return this.block(n, scope, depth);
      case 'function':
        return this.call(n, scope, depth);
      case '-':
        return this.negate(n, scope, depth);
      case '[':
        return this.array(n, scope, depth);
      case '{':
        return this.object(n, scope, depth);
      default:
        throw new Unsupported(); // `name` outside a path, `bind` outside a block
    }
  }

  private variable(n: Node, scope: Scope): Run {
    if (n.value === '' || n.value === '$') return (env) => env.root;
    const slot = resolve(scope, String(n.value));
    if (slot === undefined) throw new Unsupported(); // a built-in function as a value, or an unbound name
    return (env) => env.vars[slot];
  }

  private path(n: Node, scope: Scope, depth: number): Run {
    const steps = n.steps as Node[];
    const first = steps[0];
    if (!first) throw new Unsupported();
    let start: Run;
    if (first.type === 'name') {
      const key = this.nameStep(first, depth + 1);
      start = (env) => lookup(env.root, key);
    } else if (first.type === 'unary' && first.value === '[') {
      throw new Unsupported(); // a leading array constructor is not mapped over
    } else {
      start = this.node(first, scope, depth + 1);
    }
    const keys = steps.slice(1).map((s) => this.nameStep(s, depth + 1));
    if (keys.length === 0) return start;
    return (env) => {
      let v = start(env);
      for (const key of keys) {
        if (v === undefined) return undefined;
        v = lookup(v, key);
      }
      return v;
    };
  }

  /** The key of a plain `name` step (no filters, no focus, no index). */
  private nameStep(n: Node, depth: number): string {
    if (n?.type !== 'name') throw new Unsupported();
    onlyKeys(n, []);
    this.depth = Math.max(this.depth, depth);
    return String(n.value);
  }

  private binary(n: Node, scope: Scope, depth: number): Run {
    const l = this.node(n.lhs as Node, scope, depth + 1);
    const r = this.node(n.rhs as Node, scope, depth + 1);
    switch (n.value) {
      case 'and':
        return (env) => truthy(l(env)) && truthy(r(env));
      case 'or':
        return (env) => truthy(l(env)) || truthy(r(env));
      case '&':
        return (env) => (jsonataString(l(env)) ?? '') + (jsonataString(r(env)) ?? '');
      case '=':
        return (env) => {
          const a = l(env);
          const b = r(env);
          return a !== undefined && b !== undefined && jsonataDeepEqual(a, b);
        };
      case '!=':
        return (env) => {
          const a = l(env);
          const b = r(env);
          return a !== undefined && b !== undefined && !jsonataDeepEqual(a, b);
        };
      case 'in':
        return (env) => {
          const a = l(env);
          const b = r(env);
          if (a === undefined || b === undefined) return false;
          return Array.isArray(b) ? b.some((x) => x === a) : b === a;
        };
      case '<':
      case '<=':
      case '>':
      case '>=':
        return compare(String(n.value), l, r);
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        return arithmetic(String(n.value), l, r);
      default:
        throw new Unsupported(); // `..` ranges and anything newer
    }
  }

  private condition(n: Node, scope: Scope, depth: number): Run {
    const test = this.node(n.condition as Node, scope, depth + 1);
    const then = this.node(n.then as Node, scope, depth + 1);
    const otherwise = n.else === undefined ? undefined : this.node(n.else as Node, scope, depth + 1);
    return (env) => (truthy(test(env)) ? then(env) : otherwise?.(env));
  }

  private block(n: Node, outer: Scope, depth: number): Run {
    const scope: Scope = { names: new Map(), parent: outer };
    const statements = (n.expressions as Node[]).map((s) => {
      if (s?.type !== 'bind') return this.node(s, scope, depth + 1);
      onlyKeys(s, KEYS.bind!);
      this.depth = Math.max(this.depth, depth + 1);
      const target = s.lhs as Node;
      if (target?.type !== 'variable' || target.value === '' || target.value === '$') throw new Unsupported();
      // The right side is compiled before the name is bound: `$x := $x + 1` reads the outer $x, as in JSONata.
      const value = this.node(s.rhs as Node, scope, depth + 2);
      const slot = this.slots++;
      scope.names.set(String(target.value), slot);
      return (env: Env) => (env.vars[slot] = value(env));
    });
    if (statements.length === 1) return statements[0]!;
    return (env) => {
      let result: unknown;
      for (const s of statements) result = s(env);
      return result;
    };
  }

  private call(n: Node, scope: Scope, depth: number): Run {
    const proc = n.procedure as Node;
    if (proc?.type !== 'variable') throw new Unsupported();
    onlyKeys(proc, []);
    const name = String(proc.value);
    const fn = FAST_FUNCTIONS.get(name);
    // A name bound with := in scope is not the built-in any more.
    if (!fn || resolve(scope, name) !== undefined) throw new Unsupported();
    this.depth = Math.max(this.depth, depth + 1);
    const args = (n.arguments as Node[]).map((a) => this.node(a, scope, depth + 1));
    if (args.length < fn.minArgs || args.length > fn.maxArgs) throw new Unsupported(); // JSONata reports the signature error
    if (args.length === 0) return (env) => fn.call([], env.root);
    if (args.length === 1) {
      const [a] = args as [Run];
      return (env) => fn.call([a(env)], env.root);
    }
    return (env) =>
      fn.call(
        args.map((a) => a(env)),
        env.root,
      );
  }

  private negate(n: Node, scope: Scope, depth: number): Run {
    const operand = this.node(n.expression as Node, scope, depth + 1);
    return (env) => {
      const v = operand(env);
      if (v === undefined) return undefined;
      return numeric(v) ? -v : bail(); // D1002
    };
  }

  private array(n: Node, scope: Scope, depth: number): Run {
    const items = n.expressions as Node[];
    if (items.length >= this.limits.maxSequence) throw new Unsupported();
    const runs = items.map((item) => this.node(item, scope, depth + 1));
    // A nested array constructor is kept as one item; any other array value would be flattened in: left to JSONata.
    const nested = items.map((item) => item.type === 'unary' && item.value === '[');
    const build = (env: Env): unknown[] => {
      const out: unknown[] = [];
      for (let i = 0; i < runs.length; i++) {
        const v = runs[i]!(env);
        if (v === undefined) continue;
        if (Array.isArray(v) && !nested[i]) bail();
        out.push(v);
      }
      return out;
    };
    if (n.predicate === undefined) return build;
    const index = constantIndex(n.predicate);
    return (env) => {
      const out = build(env);
      const i = index < 0 ? out.length + index : index;
      const item = out[i];
      return Array.isArray(item) ? bail() : item;
    };
  }

  private object(n: Node, scope: Scope, depth: number): Run {
    const pairs = n.lhs as [Node, Node][];
    const keys: string[] = [];
    const values: Run[] = [];
    for (const [k, v] of pairs) {
      if (k?.type !== 'string') throw new Unsupported();
      onlyKeys(k, []);
      const key = String(k.value);
      // A repeated key is JSONata's D1009 error.
      if (SPECIAL_KEYS.has(key) || keys.includes(key)) throw new Unsupported();
      keys.push(key);
      values.push(this.node(v, scope, depth + 1));
    }
    return (env) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const v = values[i]!(env);
        if (v !== undefined) out[keys[i]!] = v;
      }
      return out;
    };
  }
}

/** Refuses a node carrying anything besides its type, value, position and `allowed` (a filter, a focus, a group-by, …). */
function onlyKeys(n: Node, allowed: readonly string[]): void {
  // The parser leaves some keys present but undefined (`name` on a function call).
  for (const key of Object.keys(n))
    if (n[key] !== undefined && !COMMON_KEYS.includes(key) && !allowed.includes(key)) throw new Unsupported();
}

function resolve(scope: Scope | undefined, name: string): number | undefined {
  for (let s = scope; s; s = s.parent) {
    const slot = s.names.get(name);
    if (slot !== undefined) return slot;
  }
  return undefined;
}

/** `[...][n]` with a number literal: JSONata floors it and counts a negative one from the end. */
function constantIndex(predicate: unknown): number {
  const stages = predicate as Node[];
  const only = stages.length === 1 ? stages[0] : undefined;
  const expr = only?.type === 'filter' ? (only.expr as Node | undefined) : undefined;
  if (!only || expr?.type !== 'number') throw new Unsupported();
  onlyKeys(only, ['expr']);
  onlyKeys(expr, []);
  return Math.floor(expr.value as number);
}

function compare(op: string, l: Run, r: Run): Run {
  return (env) => {
    const a = l(env);
    const b = r(env);
    const ta = typeof a;
    const tb = typeof b;
    if (
      (ta !== 'undefined' && ta !== 'string' && ta !== 'number') ||
      (tb !== 'undefined' && tb !== 'string' && tb !== 'number')
    )
      bail(); // T2010
    if (a === undefined || b === undefined) return undefined;
    if (ta !== tb) bail(); // T2009
    const x = a as number | string;
    const y = b as number | string;
    switch (op) {
      case '<':
        return x < y;
      case '<=':
        return x <= y;
      case '>':
        return x > y;
      default:
        return x >= y;
    }
  };
}

function arithmetic(op: string, l: Run, r: Run): Run {
  return (env) => {
    const a = l(env);
    const b = r(env);
    if ((a !== undefined && !numeric(a)) || (b !== undefined && !numeric(b))) bail(); // T2001, T2002, D1001
    if (a === undefined || b === undefined) return undefined;
    const x = a as number;
    const y = b as number;
    const result = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
    // Infinity and NaN are errors at JSONata's next step, or not: JSONata decides.
    return Number.isFinite(result) ? result : bail();
  };
}
