import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * The peak resident memory (max RSS, MB) of a fresh Node.js process that imports the built observer
 * and runs `body` (an async function body given `observer` and `args`), beside that of one that only
 * imports it: what the task itself held at its peak, measured by the kernel, not sampled.
 * `nodeFlags` go to the child (`--max-old-space-size=48`: the task must fit a 48 MB heap, or fail).
 * Needs `pnpm run build` first (the child runs dist/).
 */
export function peakRssMb(
  body: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): { task: number; idle: number } {
  const run = (code: string) => {
    const script = `const observer = await import(${JSON.stringify(dist)}); const args = ${JSON.stringify(args)};
await (async () => { ${code} })();
process.stdout.write(String(process.resourceUsage().maxRSS));`;
    const child = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`the measuring process failed: ${child.stderr}`);
    return Number(child.stdout) / 1024;
  };
  return { task: run(body), idle: run('') };
}
