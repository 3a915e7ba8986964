import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `<repo root>/../shared/vectors`, or undefined when absent (a fresh clone outside the
 * workspace): the conformance suites then skip with a note instead of failing or passing silently.
 */
export function vectorsDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  const vectors = join(dir, '..', 'shared', 'vectors');
  return existsSync(vectors) ? vectors : undefined;
}

export function readVectors<T>(dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

export const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
export const toHexUpper = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();
