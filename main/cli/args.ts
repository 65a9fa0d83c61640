/** A small, strict argument parser: `--flag value`, `--flag=value`, repeated flags, `--` ends options. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
  /** Everything after `--`. */
  rest: string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagSpec {
  /** Flags that take a value; all others are booleans. */
  values: string[];
  booleans: string[];
}

export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: new Map(), rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq > 0 ? eq : undefined);
      if (spec.booleans.includes(name)) {
        if (eq > 0) throw new UsageError(`--${name} takes no value`);
        out.flags.set(name, ['true']);
      } else if (spec.values.includes(name)) {
        const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        out.flags.set(name, [...(out.flags.get(name) ?? []), value]);
      } else {
        throw new UsageError(`unknown option --${name}`);
      }
    } else {
      out.positionals.push(arg);
    }
  }
  return out;
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const values = args.flags.get(name);
  return values?.[values.length - 1];
}

export function flags(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

export function has(args: ParsedArgs, name: string): boolean {
  return args.flags.has(name);
}

/** `k=v` pairs, e.g. `--param audience=api`. */
export function pairs(values: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what} takes key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}
