import { open } from 'node:fs/promises';
import { ForgeError } from '@forgeone/common';
import type { PrivateKey } from '@forgeone/crypto';
import { verifyTraceFile, type TraceVerification } from './traceVerify';
import { signTraceHead } from './traceWriter';

/**
 * Signs a trace file in place with a kernel key: the chain is verified first (a broken, cut or
 * unchained file is refused as `verifyTraceFile` refuses it), then the signature over its head is
 * appended as the last line. A file that is already signed is refused (FORGE_TRACE_INVALID).
 */
export async function signTraceFile(path: string, key: PrivateKey): Promise<TraceVerification> {
  const verified = await verifyTraceFile(path);
  if (verified.signature !== undefined)
    throw new ForgeError(
      'FORGE_TRACE_INVALID',
      `${path} is already signed (by key ${verified.signature.keyId.slice(0, 16)}…)`,
      { details: { path, keyId: verified.signature.keyId } },
    );
  const signature = signTraceHead(verified.head, key);
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    const line = `${last[0] === 0x0a ? '' : '\n'}${JSON.stringify({ kind: 'signature', ...signature })}\n`;
    await handle.write(line, size);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { ...verified, signature: { ...signature, verified: true } };
}
