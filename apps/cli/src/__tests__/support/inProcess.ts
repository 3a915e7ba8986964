import { runCli } from '../../cli';

/** Runs the CLI in-process with captured output, as `forgeone <argv>` would from `cwd`. */
export async function cli(argv: string[], cwd: string = process.cwd(), env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    json: argv.includes('--json'),
    env: (n) => env[n],
    cwd,
  });
  return { code, out, err };
}
