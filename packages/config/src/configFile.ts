import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { ForgeError } from '@forgeone/common';
import { flowDepthExceeds } from './internal/flowDepth';
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';

/** Largest configuration file read (a real one is a few KB); a bigger one is refused unread. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
/** Deepest nesting of flow collections accepted (a real file nests a few levels). */
export const MAX_CONFIG_NESTING = 64;
/** Most alias expansions a file may use: anchors are for sharing, not for exponential growth. */
export const MAX_CONFIG_ALIAS_COUNT = 100;

/** A line and a column, 1-based. */
export interface FilePosition {
  readonly line: number;
  readonly column: number;
}

/** A configuration file's contents with a way back from a path inside it to its line and column. */
export interface ParsedConfigFile {
  readonly file: string;
  /** The document as plain data (`{}` for an empty file). */
  readonly value: unknown;
  /** Where the value at `path` is written (its key with `key`), or the deepest ancestor that is. */
  locate(path: readonly string[], options?: { readonly key?: boolean }): FilePosition | undefined;
  /** Whether the file writes a value at `path` itself. */
  has(path: readonly string[]): boolean;
}

function fileError(
  code: ConstructorParameters<typeof ForgeError>[0],
  file: string,
  message: string,
  extra: Record<string, number> = {},
): ForgeError {
  return new ForgeError(code, `${file}: ${message}`, { details: { file, ...extra } });
}

/**
 * Reads a configuration file with a bound: a symbolic link, a directory or other non-regular file,
 * a missing file and one over MAX_CONFIG_FILE_BYTES are each refused with their own code, and no
 * more than the cap (+1 byte) is ever read, whatever the file claims its size is.
 */
export async function readConfigFileText(file: string): Promise<string> {
  let info;
  try {
    info = await lstat(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw fileError('FORGE_CONFIG_FILE_NOT_FOUND', file, 'no such file');
    throw fileError('FORGE_CONFIG_FILE_UNREADABLE', file, `cannot read it (${code ?? 'error'})`);
  }
  if (info.isSymbolicLink())
    throw fileError('FORGE_CONFIG_FILE_SYMLINK', file, 'is a symbolic link; give the real file');
  if (!info.isFile())
    throw fileError(
      'FORGE_CONFIG_FILE_NOT_REGULAR',
      file,
      info.isDirectory() ? 'is a directory' : 'is not a regular file',
    );
  if (info.size > MAX_CONFIG_FILE_BYTES) throw tooLarge(file);
  let handle;
  try {
    // O_NOFOLLOW: a link swapped in after lstat is refused; O_NONBLOCK: a FIFO never hangs the read.
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ELOOP')
      throw fileError('FORGE_CONFIG_FILE_SYMLINK', file, 'is a symbolic link; give the real file');
    if (code === 'ENOENT') throw fileError('FORGE_CONFIG_FILE_NOT_FOUND', file, 'no such file');
    throw fileError('FORGE_CONFIG_FILE_UNREADABLE', file, `cannot open it (${code ?? 'error'})`);
  }
  try {
    if (!(await handle.stat()).isFile())
      throw fileError('FORGE_CONFIG_FILE_NOT_REGULAR', file, 'is not a regular file');
    const buffer = Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_CONFIG_FILE_BYTES) throw tooLarge(file);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw fileError('FORGE_CONFIG_FILE_UNREADABLE', file, 'is not UTF-8 text');
    }
  } catch (error) {
    if (error instanceof ForgeError) throw error;
    throw fileError(
      'FORGE_CONFIG_FILE_UNREADABLE',
      file,
      `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  } finally {
    await handle.close();
  }
}

function tooDeep(file: string): ForgeError {
  return fileError(
    'FORGE_CONFIG_FILE_TOO_DEEP',
    file,
    `nests collections more than ${MAX_CONFIG_NESTING} deep; flatten it`,
    {
      limit: MAX_CONFIG_NESTING,
    },
  );
}

function tooLarge(file: string): ForgeError {
  return fileError('FORGE_CONFIG_FILE_TOO_LARGE', file, `is larger than ${MAX_CONFIG_FILE_BYTES} bytes`, {
    limit: MAX_CONFIG_FILE_BYTES,
  });
}

/**
 * Parses YAML or JSON text (JSON is YAML 1.2). Every syntax problem is thrown as
 * FORGE_CONFIG_FILE_SYNTAX at file:line:column (the first; details.problems counts them); duplicate
 * keys and several documents are syntax problems; alias bombs and over-deep nesting have codes.
 */
export function parseConfigText(text: string, file: string): ParsedConfigFile {
  if (text.length > MAX_CONFIG_FILE_BYTES) throw tooLarge(file);
  if (flowDepthExceeds(text, MAX_CONFIG_NESTING)) throw tooDeep(file);
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  let value: unknown;
  try {
    doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
    const error = doc.errors[0];
    if (error) {
      const pos = lineCounter.linePos(error.pos[0]);
      throw new ForgeError(
        'FORGE_CONFIG_FILE_SYNTAX',
        `${file}:${pos.line}:${pos.col}: not valid YAML or JSON: ${error.message.split('\n')[0]}`,
        { details: { file, line: pos.line, column: pos.col, problems: doc.errors.length } },
      );
    }
    value = doc.toJS({ maxAliasCount: MAX_CONFIG_ALIAS_COUNT });
  } catch (cause) {
    if (cause instanceof ForgeError) throw cause;
    if (cause instanceof RangeError) throw tooDeep(file);
    const message = cause instanceof Error ? cause.message : String(cause);
    if (/alias/i.test(message)) {
      throw fileError(
        'FORGE_CONFIG_FILE_ALIAS_BOMB',
        file,
        `expands more than ${MAX_CONFIG_ALIAS_COUNT} aliases (an alias bomb)`,
        {
          limit: MAX_CONFIG_ALIAS_COUNT,
        },
      );
    }
    throw fileError(
      'FORGE_CONFIG_FILE_SYNTAX',
      file,
      `cannot be read as YAML or JSON: ${message.split('\n')[0]}`,
    );
  }
  const position = (offset: number | undefined): FilePosition | undefined => {
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const walk = (
    path: readonly string[],
  ): { node: YamlNode | undefined; keyNode: YamlNode | undefined; complete: boolean } => {
    let node: unknown = doc.contents;
    let found: YamlNode | undefined = isNode(node) ? node : undefined;
    let keyNode: YamlNode | undefined;
    for (const step of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === step);
        if (!pair) return { node: found, keyNode: undefined, complete: false };
        keyNode = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
      } else if (isSeq(node) && /^\d+$/.test(step)) {
        node = node.items[Number(step)];
      } else return { node: found, keyNode: undefined, complete: false };
      if (!isNode(node)) return { node: found, keyNode, complete: keyNode !== undefined };
      found = node;
    }
    return { node: found, keyNode, complete: true };
  };
  return {
    file,
    value: value ?? {},
    locate(path, options) {
      const { node, keyNode } = walk(path);
      return position((options?.key ? keyNode : undefined)?.range?.[0] ?? node?.range?.[0]);
    },
    has(path) {
      return walk(path).complete;
    },
  };
}

function isNode(node: unknown): node is YamlNode {
  return typeof node === 'object' && node !== null && 'range' in node;
}

/** Reads and parses a configuration file (see readConfigFileText and parseConfigText). */
export async function readConfigFile(file: string): Promise<ParsedConfigFile> {
  return parseConfigText(await readConfigFileText(file), file);
}
