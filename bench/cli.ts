// Command lines of the single-purpose bench scripts: --help prints the usage and exits before
// anything runs; an unknown flag or a bad number is one line naming it, and exit 1.
import { parseArgs } from 'node:util';

type Spec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>;

export function benchArgs<S extends Spec>(
  usage: string,
  options: S,
): { [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : string } {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as never;
  } catch (e) {
    console.error(`${(e as Error).message.split('\n')[0]} (--help for usage)`);
    process.exit(1);
  }
}

/** A numeric flag: an integer >= min, or exit 1 naming the flag. */
export function intFlag(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isInteger(n) && n >= min)) {
    console.error(`--${flag}: expected an integer >= ${min}, got '${v}'`);
    process.exit(1);
  }
  return n;
}
