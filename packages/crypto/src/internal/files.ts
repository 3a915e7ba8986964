import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { ForgeError, type ForgeErrorCode } from '@forgeone/common';

/**
 * Reads a whole file, refusing one larger than `maxBytes` before reading it, so a huge or endless
 * file (a FIFO, /dev/zero) never makes us allocate more than the limit.
 */
export async function readFileBounded(
  path: string,
  maxBytes: number,
  codes: { io: ForgeErrorCode; tooLarge: ForgeErrorCode },
  what: string,
): Promise<Uint8Array> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ForgeError(codes.io, `${what} ${path} is not a regular file`);
    if (stat.size > maxBytes) {
      throw new ForgeError(
        codes.tooLarge,
        `${what} ${path} is ${stat.size} bytes; the limit is ${maxBytes}`,
        {
          details: { path, size: stat.size, limit: maxBytes },
        },
      );
    }
    // Read at most maxBytes + 1 even if the file grew after stat.
    const buffer = new Uint8Array(Math.min(stat.size, maxBytes) + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buffer.length) {
        throw new ForgeError(codes.tooLarge, `${what} ${path} is larger than the limit of ${maxBytes} bytes`);
      }
    }
    return buffer.subarray(0, filled);
  } catch (error) {
    if (error instanceof ForgeError) throw error;
    throw new ForgeError(codes.io, `cannot read ${what} ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { path },
    });
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `data` to `path` with `mode`. Without `overwrite` the file must not exist (`wx`);
 * with it, a temporary file is renamed over the old one so readers never see half a file.
 */
export async function writeFileSafely(
  path: string,
  data: Uint8Array | string,
  options: {
    mode: number;
    overwrite: boolean;
    existsCode: ForgeErrorCode;
    ioCode: ForgeErrorCode;
    what: string;
  },
): Promise<void> {
  const target = options.overwrite ? `${path}.${process.pid}.${Date.now()}.tmp` : path;
  let handle: FileHandle | undefined;
  try {
    handle = await open(target, 'wx', options.mode);
    await handle.writeFile(data);
    await handle.chmod(options.mode); // the umask may have narrowed or (with a 0 umask) kept it
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (options.overwrite) await rename(target, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    if (options.overwrite) await unlink(target).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !options.overwrite) {
      throw new ForgeError(
        options.existsCode,
        `${options.what} ${path} already exists; refusing to overwrite it`,
        {
          details: { path },
        },
      );
    }
    throw new ForgeError(
      options.ioCode,
      `cannot write ${options.what} ${path}: ${(error as Error).message}`,
      {
        cause: error,
        details: { path },
      },
    );
  }
}
