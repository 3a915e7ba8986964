import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ForgeError, isForgeError, type ForgeErrorCode } from '@forgeone/common';
import { limitBounds } from '@forgeone/config';
import { worldSyscallNames } from '@forgeone/execution';
import { MAX_POLICY_BYTES, checkAllowList, parseSourceText, type ParsedSource } from '@forgeone/trust';
import { checkDependencies } from './dependencyGraph';
import { priorities, type Priority } from './priority';

/** A name a workload file may give a workload: what `dependsOn` and reports use. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const listOfText = z.array(z.string().min(1));

/** One workload of a file: what to run, how to schedule it, and the options `forgeone run` takes. */
const WorkloadEntrySchema = z.strictObject({
  name: z
    .string()
    .regex(NAME, 'a name is letters, digits, . _ - (up to 128, starting with a letter or digit)'),
  /** A `.wasm` or `.wat` module (development path), relative to the file. */
  module: z.string().min(1).optional(),
  /** A signed `.forgepkg`, relative to the file (needs a trust root to verify against). */
  package: z.string().min(1).optional(),
  priority: z.enum(priorities).default('normal'),
  tenant: z.string().min(1).max(128).default('default'),
  dependsOn: listOfText.default([]),
  /** Syscalls allowed, as a list or comma-separated (like `run --allow`). */
  allow: z.union([z.string(), listOfText]).default([]),
  /** Preopened directories, `<host>:<guest>[:ro]` (like `run --dir`); host paths relative to the file. */
  dir: listOfText.default([]),
  /** Deadline of the run, ms (like `run --timeout`). */
  timeout: z.number().int().min(limitBounds.timeoutMs.min).max(limitBounds.timeoutMs.max).optional(),
  /** Most 64 KiB pages of linear memory (like `run --memory-pages`). */
  memoryPages: z.number().int().min(limitBounds.memoryPages.min).max(limitBounds.memoryPages.max).optional(),
  /** The guest's arguments (its argv after the program name, like `run <module> -- args`). */
  args: z.array(z.union([z.string(), z.number(), z.boolean()])).default([]),
});

const WorkloadFileSchema = z.strictObject({
  workloads: z.array(WorkloadEntrySchema).min(1, 'the file lists no workloads'),
});

/** One workload as a file gives it, checked. */
export interface WorkloadSpec {
  readonly name: string;
  /** Absolute path of the module or package to run. */
  readonly file: string;
  readonly kind: 'module' | 'package';
  readonly priority: Priority;
  readonly tenant: string;
  readonly dependsOn: readonly string[];
  readonly allow: readonly string[];
  /** As written; host paths are resolved against `baseDir`. */
  readonly dir: readonly string[];
  readonly timeout?: number;
  readonly memoryPages?: number;
  readonly args: readonly string[];
}

/** A workload file, read and checked: nothing in it can be refused later for how it is written. */
export interface WorkloadFile {
  readonly file: string;
  /** The file's directory: relative paths inside it resolve against it. */
  readonly baseDir: string;
  readonly workloads: readonly WorkloadSpec[];
  /** `file:line:column` of a workload's field (or of the workload), for messages. */
  where(index: number, field?: string): string;
}

/**
 * Reads a workload file (YAML or JSON) for `forgeone schedule`. Refused, with `file:line:column`
 * and the field: not YAML, an unknown field, an unknown priority, a missing name or module, a bad
 * limit (FORGE_SCHEDULE_FILE_INVALID); an unknown syscall in `allow` (FORGE_POLICY_UNKNOWN_SYSCALL);
 * a duplicate name, an unknown dependency or a cycle (the scheduler's codes); a module or package
 * that does not exist (FORGE_SCHEDULE_MODULE_MISSING). Nothing is run by reading it.
 */
export async function readWorkloadFile(path: string): Promise<WorkloadFile> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (info.size > MAX_POLICY_BYTES) {
      throw new ForgeError(
        'FORGE_SCHEDULE_FILE_INVALID',
        `${path} is ${info.size} bytes; a workload file is at most ${MAX_POLICY_BYTES}`,
        { details: { file: path } },
      );
    }
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (isForgeError(cause)) throw cause;
    throw new ForgeError(
      'FORGE_SCHEDULE_FILE_INVALID',
      `cannot read the workload file ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      { cause, details: { file: path } },
    );
  }
  const parsed = parseWorkloadText(text, path);
  // Each module must be there before anything runs, or the file is refused as a whole.
  for (const [index, workload] of parsed.workloads.entries()) {
    const exists = await stat(workload.file).then(
      (info) => info.isFile(),
      () => false,
    );
    if (!exists) {
      throw new ForgeError(
        'FORGE_SCHEDULE_MODULE_MISSING',
        `${parsed.where(index, workload.kind)}: workload '${workload.name}': ${workload.kind} ${workload.file} does not exist`,
        { details: { file: path, workload: workload.name, module: workload.file } },
      );
    }
  }
  return parsed;
}

/** Parses and checks the text of a workload file (everything but whether the modules exist). */
export function parseWorkloadText(text: string, file: string): WorkloadFile {
  let source: ParsedSource;
  try {
    source = parseSourceText(text, file);
  } catch (error) {
    // The YAML reader is the policy loader's; its refusals are a workload file's here.
    throw new ForgeError('FORGE_SCHEDULE_FILE_INVALID', (error as Error).message, {
      cause: error,
      details: { file },
    });
  }
  const at = (path: ReadonlyArray<string | number>) => {
    const pos = source.locate(path);
    return pos === undefined ? file : `${file}:${pos.line}:${pos.column}`;
  };
  const where = (index: number, field?: string) =>
    at(field === undefined ? ['workloads', index] : ['workloads', index, field]);
  const fail = (code: ForgeErrorCode, path: ReadonlyArray<string | number>, message: string): never => {
    throw new ForgeError(code, `${at(path)}: ${dotted(path)}: ${message}`, {
      details: { file, path: dotted(path) },
    });
  };

  const result = WorkloadFileSchema.safeParse(source.value);
  if (!result.success) {
    // An unknown field says most about what was meant: reported before what it left missing.
    const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0]!;
    const path = issue.path.map((step) => (typeof step === 'symbol' ? String(step) : step));
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    // An unknown field is reported at the field itself, named.
    if (unknownKeys.length > 0) {
      fail('FORGE_SCHEDULE_FILE_INVALID', [...path, unknownKeys[0]!], `unknown field (${fieldsOf(path)})`);
    }
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    fail('FORGE_SCHEDULE_FILE_INVALID', path, missing ? 'a required field is missing' : issue.message);
  }
  const entries = result.data!.workloads;
  const base = dirname(resolve(file));

  const workloads = entries.map((entry, index): WorkloadSpec => {
    if ((entry.module === undefined) === (entry.package === undefined)) {
      fail(
        'FORGE_SCHEDULE_FILE_INVALID',
        ['workloads', index],
        `workload '${entry.name}' needs exactly one of module (a .wasm or .wat file) or package (a .forgepkg)`,
      );
    }
    const allow = typeof entry.allow === 'string' ? entry.allow.split(',') : entry.allow;
    let checked: string[] = [];
    try {
      checked = checkAllowList(
        allow.filter((s) => s.trim() !== ''),
        { knownSyscalls: worldSyscallNames() },
      );
    } catch (error) {
      fail(
        isForgeError(error) ? error.code : 'FORGE_SCHEDULE_FILE_INVALID',
        ['workloads', index, 'allow'],
        (error as Error).message,
      );
    }
    const kind = entry.module === undefined ? 'package' : 'module';
    return {
      name: entry.name,
      file: resolve(base, (entry.module ?? entry.package)!),
      kind,
      priority: entry.priority,
      tenant: entry.tenant,
      dependsOn: entry.dependsOn,
      allow: checked,
      dir: entry.dir,
      ...(entry.timeout === undefined ? {} : { timeout: entry.timeout }),
      ...(entry.memoryPages === undefined ? {} : { memoryPages: entry.memoryPages }),
      args: entry.args.map(String),
    };
  });

  // The scheduler's own check, located in the file.
  try {
    checkDependencies(
      workloads.map((w) => ({ id: w.name, dependsOn: w.dependsOn })),
      () => false,
    );
  } catch (error) {
    if (!isForgeError(error)) throw error;
    const workload = String(error.details.workload ?? '');
    const index = workloads.findIndex(
      (w) =>
        w.name ===
        (error.code === 'FORGE_SCHEDULER_CYCLE' ? String(error.details.cycle).split(' → ')[0] : workload),
    );
    const duplicate = error.code === 'FORGE_SCHEDULER_DUPLICATE';
    // A duplicate is located at its second occurrence.
    const at = duplicate ? workloads.findIndex((w, i) => w.name === workload && i > index) : index;
    const dependency =
      error.code === 'FORGE_SCHEDULER_UNKNOWN_DEPENDENCY' ? String(error.details.dependency) : undefined;
    const path: Array<string | number> = duplicate
      ? ['workloads', at, 'name']
      : dependency !== undefined
        ? ['workloads', at, 'dependsOn', workloads[at]!.dependsOn.indexOf(dependency)]
        : ['workloads', at, 'dependsOn'];
    fail(error.code, path, error.message);
  }
  return { file, baseDir: base, workloads, where };
}

/** `workloads[2].priority`, the form users read. */
function dotted(path: ReadonlyArray<string | number>): string {
  const text = path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
  return text === '' ? '(root)' : text.slice(1).replace(/^\[/, '[');
}

function fieldsOf(path: ReadonlyArray<string | number>): string {
  const known =
    path.length === 0 ? Object.keys(WorkloadFileSchema.shape) : Object.keys(WorkloadEntrySchema.shape);
  return `known: ${known.join(', ')}`;
}
