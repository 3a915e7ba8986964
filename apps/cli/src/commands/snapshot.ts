import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ContainerLimitsInput } from '@forgeone/config';
import { readPrivateKeyFile, readPublicKeyFile, type PublicKey } from '@forgeone/crypto';
import {
  WasmHost,
  parseTypedArgs,
  readModuleBytes,
  typedValuesToJson,
  type EnforcerSpec,
  type InlineInstance,
  type PortablePreopen,
  type TypedValue,
} from '@forgeone/execution';
import { decodeSnapshot, signSnapshot, type DecodedSnapshot } from '@forgeone/observer';
import { printGuestLine, printJson, printResult, usageError, type CliIo } from '../cliIo';
import { cliPath } from '../flagValues';
import { lineWriter } from '../guestLines';
import { passphraseSource } from '../passphrase';
import { exitAsGuest } from './runReport';

/** What `forgeone run` hands a run with --snapshot-out or --from-snapshot. */
export interface SnapshotRun {
  readonly file: string;
  readonly name: string;
  readonly policy: EnforcerSpec;
  readonly limits: ContainerLimitsInput;
  readonly wasi: {
    readonly args: readonly string[];
    readonly env: Readonly<Record<string, string>>;
    readonly preopens: readonly PortablePreopen[];
  };
  readonly call?: string;
  readonly args?: readonly string[];
  /** Where to write the snapshot taken after the call. */
  readonly snapshotOut?: string;
  /** The snapshot to start from. */
  readonly fromSnapshot?: string;
  /** The kernel public key the --from-snapshot file must be signed by. */
  readonly snapshotKey?: string;
  /** The kernel private key that signs the --snapshot-out file. */
  readonly snapshotSign?: string;
}

const MIB = 1024 * 1024;
const sizeText = (bytes: number) => (bytes >= MIB ? `${(bytes / MIB).toFixed(1)} MiB` : `${bytes} bytes`);

/** Reads and checks a snapshot file (hostile input: every digest, the signature with a key). */
async function readSnapshot(
  io: CliIo,
  file: string,
  key: PublicKey | undefined,
  maxMemoryBytes?: number,
): Promise<DecodedSnapshot> {
  const bytes = await readFile(cliPath(io, file)).catch((error: NodeJS.ErrnoException) => {
    throw usageError(`cannot read the snapshot ${file}: ${error.code ?? error.message}`);
  });
  return decodeSnapshot(bytes, {
    ...(key && { key }),
    ...(maxMemoryBytes !== undefined && { maxMemoryBytes }),
  });
}

/**
 * `forgeone run` with --snapshot-out or --from-snapshot: an inline container whose module is
 * compiled for snapshots, started fresh or from the snapshot (checked before anything runs), one
 * call, then the snapshot written (to a temporary file renamed into place: never half a file).
 */
export async function runWithSnapshot(io: CliIo, run: SnapshotRun): Promise<void> {
  if (run.fromSnapshot !== undefined && run.call === undefined)
    throw usageError('a container started from a snapshot has run its start already: give --call <export>');
  const host = new WasmHost({ development: true, isolation: 'inline', snapshots: true, limits: run.limits });
  let instance: InlineInstance | undefined;
  try {
    const key =
      run.snapshotKey === undefined ? undefined : await readPublicKeyFile(cliPath(io, run.snapshotKey));
    const signer =
      run.snapshotSign === undefined
        ? undefined
        : await readPrivateKeyFile(cliPath(io, run.snapshotSign), { passphrase: passphraseSource(io) });
    const snapshot =
      run.fromSnapshot === undefined
        ? undefined
        : await readSnapshot(io, run.fromSnapshot, key, host.limits.memoryPages * 65_536);
    const module = await host.loadModule(await readModuleBytes(run.file, host.limits.maxModuleBytes), {
      name: run.name,
    });
    const stdout = lineWriter((line) => printGuestLine(io, 'out', line));
    const stderr = lineWriter((line) => printGuestLine(io, 'err', line));
    instance = (await host.instantiate(module, {
      enforcer: run.policy,
      wasi: run.wasi,
      moduleName: run.name,
      ...(snapshot && { fromSnapshot: snapshot }),
      ...(io.json
        ? {}
        : { onLog: (message: string) => io.out(message), onStdout: stdout.write, onStderr: stderr.write }),
    })) as InlineInstance;
    const restored = instance.restoreOutcome;
    if (restored !== undefined && restored.status !== 'returned') {
      exitAsGuest(io, restored);
    }
    let outcome = instance.startOutcome;
    let values: readonly TypedValue[] = [];
    if (outcome === undefined) {
      const entry = run.call ?? '_start';
      const signature = module.info?.exports.find((e) => e.name === entry)?.signature;
      const result = await instance.invoke(entry, parseTypedArgs(run.args ?? [], signature), {
        timeoutMs: host.limits.timeoutMs,
      });
      outcome = result.outcome;
      values = result.values;
    }
    stdout.end();
    stderr.end();
    let written: { id: string; path: string; bytes: number; memory: number } | undefined;
    if (run.snapshotOut !== undefined && outcome.status === 'returned') {
      const encoded = instance.captureSnapshot(signer === undefined ? {} : { sign: signer });
      const path = cliPath(io, run.snapshotOut);
      const partial = `${path}.${process.pid}.partial`;
      await writeFile(partial, encoded.bytes);
      await rename(partial, path);
      written = {
        id: encoded.id,
        path,
        bytes: encoded.bytes.byteLength,
        memory: encoded.manifest.memory.byteLength,
      };
    }
    if (io.json) {
      printJson(io, {
        ok: outcome.status === 'returned',
        code: outcome.status === 'trapped' ? outcome.error.code : 'OK',
        message:
          outcome.status === 'trapped'
            ? outcome.error.message
            : `${outcome.status} with code ${outcome.exitCode}`,
        status: outcome.status,
        exitCode: outcome.exitCode,
        module: module.sha256,
        results: typedValuesToJson(values),
        stdout: Buffer.from(instance.stdout()).toString('utf8'),
        ...(snapshot && { restoredFrom: snapshot.id }),
        ...(written && { snapshot: written }),
      });
    } else {
      if (snapshot) io.err(`started from snapshot ${snapshot.id.slice(0, 16)}…`);
      for (const value of values)
        io.out(
          `=> ${value.type === 'bytes' ? `bytes ${Buffer.from(value.value).toString('hex')}` : `${value.type} ${String(value.value)}`}`,
        );
      if (written)
        io.err(
          `snapshot ${written.id} written to ${run.snapshotOut} (${sizeText(written.bytes)} for ${sizeText(written.memory)} of memory)`,
        );
    }
    exitAsGuest(io, outcome);
  } finally {
    await instance?.terminate();
    await host.close();
  }
}

function describeSnapshot(file: string, snapshot: DecodedSnapshot): string[] {
  const { context, manifest } = snapshot;
  const stored = manifest.memory.pages.filter((p) => p >= 0).length;
  const signature = snapshot.signature;
  return [
    `${file}: snapshot ${snapshot.id}`,
    `  module     ${context.module.name}${context.module.version === null ? '' : ` ${context.module.version}`} (sha256 ${context.module.sha256})`,
    `  container  ${context.containerId}, captured ${new Date(context.capturedAt).toISOString()}`,
    `  memory     ${sizeText(snapshot.memoryByteLength)}: ${stored} of ${manifest.memory.pages.length} page(s) not zero, ${manifest.chunks.length} stored (${sizeText(snapshot.fileBytes)} file)`,
    `  globals    ${context.globals.length} mutable`,
    `  host       ${context.host.wasi === null ? 'no WASI' : `${context.host.wasi.fds.length} WASI descriptor(s)`}, ${context.host.dna.totalCalls} call(s) so far, next trace seq ${context.host.traceSeq}${context.host.kv === null ? '' : `, kv ${context.host.kv.namespace}`}`,
    `  signature  ${signature === undefined ? 'none' : `${signature.algorithm} key ${signature.keyId.slice(0, 16)}… (${signature.verified ? 'verified' : 'not checked: give --key'})`}`,
  ];
}

const snapshotData = (snapshot: DecodedSnapshot) => ({
  id: snapshot.id,
  bytes: snapshot.fileBytes,
  context: snapshot.context,
  memory: {
    byteLength: snapshot.memoryByteLength,
    pages: snapshot.manifest.memory.pages.length,
    nonZeroPages: snapshot.manifest.memory.pages.filter((p) => p >= 0).length,
    chunks: snapshot.manifest.chunks.length,
  },
  signature: snapshot.signature ?? null,
});

/** `forgeone snapshot inspect|verify|sign`: `.fsnap` files written by `run --snapshot-out`. */
export function registerSnapshot(program: Command, io: CliIo): void {
  const snapshot = program
    .command('snapshot')
    .description('inspect, verify and sign snapshot files written by `run --snapshot-out`');

  for (const [name, description] of [
    [
      'inspect',
      'check a snapshot file and show what it holds: module, memory, globals, host state, signature',
    ],
    [
      'verify',
      'check a snapshot file: every page against its digest, the manifest against its id, with --key the signature; exits 0 only when it holds',
    ],
  ] as const) {
    snapshot
      .command(name)
      .description(description)
      .argument('<snapshot.fsnap>', 'snapshot written by `forgeone run --snapshot-out`')
      .option('--key <file.pub>', 'the kernel public key the snapshot must be signed by')
      .option('--json', 'print a JSON result')
      .action(async (file: string, flags: { key?: string }) => {
        const key = flags.key === undefined ? undefined : await readPublicKeyFile(cliPath(io, flags.key));
        const decoded = await readSnapshot(io, file, key);
        const lines = describeSnapshot(file, decoded);
        printResult(io, {
          message: name === 'verify' ? `${file}: intact snapshot ${decoded.id}` : lines[0]!,
          ...(name === 'inspect' && { lines }),
          data: snapshotData(decoded),
        });
      });
  }

  snapshot
    .command('sign')
    .description(
      'sign a snapshot file in place with a kernel key, after checking it (its id does not change)',
    )
    .argument('<snapshot.fsnap>', 'snapshot written by `forgeone run --snapshot-out`')
    .requiredOption('--key <file.key>', 'the kernel private key')
    .option('--json', 'print a JSON result')
    .action(async (file: string, flags: { key: string }) => {
      const key = await readPrivateKeyFile(cliPath(io, flags.key), { passphrase: passphraseSource(io) });
      const path = cliPath(io, file);
      const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
        throw usageError(`cannot read the snapshot ${file}: ${error.code ?? error.message}`);
      });
      const signed = signSnapshot(bytes, key);
      const partial = `${path}.${process.pid}.partial`;
      await writeFile(partial, signed);
      await rename(partial, path);
      const decoded = decodeSnapshot(signed, { key: key.publicKey });
      printResult(io, {
        message: `${file}: snapshot ${decoded.id} signed by key ${key.keyId.slice(0, 16)}…`,
        data: snapshotData(decoded),
      });
    });
}
