import { readFile, stat } from 'node:fs/promises';
import { ForgeError } from '@forgeone/common';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import type { DocPathStep } from './internal/docPath';
import { lineBeyondNesting } from './internal/nestingDepth';

/**
 * Largest policy or test file read: far above any real policy (the example is 4 KB), and small
 * enough that reading and checking the largest one accepted takes well under a second.
 */
export const MAX_POLICY_BYTES = 256 * 1024;
/** Deepest nesting of collections accepted (a real policy nests about 10 deep). */
export const MAX_POLICY_NESTING = 64;

/** A parsed YAML or JSON document with a way back from a path inside it to its line and column. */
export interface ParsedSource {
  readonly value: unknown;
  readonly file?: string;
  /** Line and column (1-based) of the deepest node on `path` that exists in the source. */
  locate(path: readonly DocPathStep[]): { line: number; column: number } | undefined;
}

/**
 * Parses YAML or JSON text (JSON is read as YAML 1.2, which it is a subset of). Duplicate keys,
 * several documents in one file, and alias bombs are refused with FORGE_POLICY_PARSE and a line.
 */
export function parseSourceText(text: string, file?: string): ParsedSource {
  const named = file ? `${file}: ` : '';
  if (text.length > MAX_POLICY_BYTES) {
    throw new ForgeError(
      'FORGE_POLICY_TOO_LARGE',
      `${named}the document is ${text.length} characters; the limit is ${MAX_POLICY_BYTES}`,
      { details: { file: file ?? null, path: '(root)' } },
    );
  }
  // Checked before parsing: the parser recurses per level, so a deep enough file exhausts its stack.
  const deep = lineBeyondNesting(text, MAX_POLICY_NESTING);
  if (deep !== undefined) throw tooDeep(file, `line ${deep}`);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const pos = lineCounter.linePos(error.pos[0]);
    const where = `${file ?? 'line'}${file ? `:${pos.line}:${pos.col}` : ` ${pos.line}`}`;
    throw new ForgeError(
      'FORGE_POLICY_PARSE',
      `${where}: not valid YAML or JSON: ${error.message.split('\n')[0]}`,
      { details: { file: file ?? null, path: '(root)', line: pos.line, column: pos.col } },
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    if (cause instanceof RangeError) throw tooDeep(file, 'its structure');
    throw new ForgeError(
      'FORGE_POLICY_PARSE',
      `${named}the document cannot be read: ${(cause as Error).message}`,
      { cause, details: { file: file ?? null, path: '(root)' } },
    );
  }
  return {
    value,
    ...(file === undefined ? {} : { file }),
    locate(path) {
      let node: unknown = doc.contents;
      let found: YamlNode | undefined = isNodeWithRange(node) ? node : undefined;
      for (const step of path) {
        if (isMap(node)) {
          const pair = node.items.find(
            (item) => isScalar(item.key) && String(item.key.value) === String(step),
          );
          if (!pair) break;
          node = pair.value;
        } else if (isSeq(node) && typeof step === 'number') {
          node = node.items[step];
        } else break;
        if (!isNodeWithRange(node)) break;
        found = node;
      }
      const offset = found?.range?.[0];
      if (offset === undefined) return undefined;
      const pos = lineCounter.linePos(offset);
      return { line: pos.line, column: pos.col };
    },
  };
}

function tooDeep(file: string | undefined, where: string): ForgeError {
  return new ForgeError(
    'FORGE_POLICY_TOO_DEEP',
    `${file ? `${file}: ` : ''}the document nests more than ${MAX_POLICY_NESTING} levels deep (at ${where}); flatten it`,
    { details: { file: file ?? null, path: '(root)', limit: MAX_POLICY_NESTING } },
  );
}

function isNodeWithRange(node: unknown): node is YamlNode {
  return typeof node === 'object' && node !== null && 'range' in node;
}

/** Reads and parses a YAML or JSON file; a missing or unreadable file is FORGE_POLICY_NOT_FOUND. */
export async function readSourceFile(path: string): Promise<ParsedSource> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (info.size > MAX_POLICY_BYTES) {
      throw new ForgeError(
        'FORGE_POLICY_TOO_LARGE',
        `${path} is ${info.size} bytes; the limit is ${MAX_POLICY_BYTES}`,
        { details: { file: path, path: '(root)' } },
      );
    }
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (cause instanceof ForgeError) throw cause;
    throw new ForgeError(
      'FORGE_POLICY_NOT_FOUND',
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      { cause, details: { file: path, path: '(root)' } },
    );
  }
  return parseSourceText(text, path);
}
