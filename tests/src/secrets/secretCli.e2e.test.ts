import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore, openStateStore, type JsonValue } from '@forgeone/common';
import { SECRETS_NAMESPACE, SecretStore, readSecretKeyFile } from '@forgeone/config';
import { cliPath, expectFailure, forgeone, hasStackTrace, type CliRun } from '../support/cli';

// `forgeone secret` through the built CLI, as an operator runs it.
const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
/** Every form the canary could leak in: clear, base64, hex. */
const canaryForms = [
  CANARY,
  Buffer.from(CANARY).toString('base64').slice(0, 20),
  Buffer.from(CANARY).toString('hex'),
];
const outputs: string[] = [];
const noKeyEnv = {
  FORGEONE_SECRET_PASSPHRASE: undefined,
  FORGEONE_SECRET_NEW_PASSPHRASE: undefined,
  FORGEONE_STATE: undefined,
};

function run(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const result = forgeone(args, {
    cwd: dir,
    env: { ...noKeyEnv, ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  expect(hasStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  outputs.push(result.stdout, result.stderr);
  return result;
}
const fails = expectFailure;
function keyFile(name: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode });
  chmodSync(path, mode);
  return name;
}
const stateFiles = (state: string) =>
  readdirSync(join(dir, state)).map((file) => readFileSync(join(dir, state, file)));

describe('forgeone secret', () => {
  it('sets, lists, checks, rotates and removes secrets, and the canary never shows', async () => {
    const k1 = keyFile('k1.key');
    const k2 = keyFile('k2.key');
    const state = ['--state', 'st'];
    expect(
      run(['secret', 'set', 'api.token', ...state, '--key-file', k1], { input: `${CANARY}\n` }).code,
    ).toBe(0);
    const second = run(
      ['secret', 'set', 'db-password', ...state, '--key-file', k1, '--reason', 'initial', '--json'],
      {
        input: `second ${CANARY}`,
      },
    );
    expect(JSON.parse(second.stdout)).toMatchObject({
      ok: true,
      secret: { name: 'db-password', version: 1, reason: 'initial' },
    });
    const again = run(['secret', 'set', 'db-password', ...state, '--key-file', k1, '--json'], {
      input: `third ${CANARY}`,
    });
    expect(JSON.parse(again.stdout).secret.version).toBe(2);

    const listed = run(['secret', 'list', ...state, '--key-file', k1]);
    expect(listed.stdout).toMatch(/^api\.token {2}v1 {2}updated /m);
    expect(listed.stdout).toMatch(/^db-password {2}v2 {2}updated /m);
    const json = JSON.parse(run(['secret', 'list', ...state, '--key-file', k1, '--json']).stdout);
    expect(json.secrets.map((s: { name: string }) => s.name)).toEqual(['api.token', 'db-password']);
    expect(run(['secret', 'check', ...state, '--key-file', k1]).stdout.trim()).toBe('2 secret(s) intact');

    expect(run(['secret', 'rotate-key', ...state, '--key-file', k1, '--new-key-file', k2]).stdout).toContain(
      '2 secret(s) rewrapped',
    );
    fails(run(['secret', 'list', ...state, '--key-file', k1]), 'FORGE_SECRET_KEY_WRONG');
    expect(JSON.parse(run(['secret', 'check', ...state, '--key-file', k2, '--json']).stdout)).toMatchObject({
      ok: true,
      intact: ['api.token', 'db-password'],
    });
    // And back, in JSON: every command's machine output is searched too.
    const back = run(['secret', 'rotate-key', ...state, '--key-file', k2, '--new-key-file', k1, '--json']);
    expect(JSON.parse(back.stdout)).toMatchObject({ ok: true, rewrapped: 2 });
    const forth = run(['secret', 'rotate-key', ...state, '--key-file', k1, '--new-key-file', k2, '--json']);
    expect(JSON.parse(forth.stdout)).toMatchObject({ ok: true, rewrapped: 2 });
    const wrong = run(['secret', 'check', ...state, '--key-file', k1, '--json']);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ ok: false, code: 'FORGE_SECRET_KEY_WRONG' });

    // The values survived the rotation: read through the library with the new key.
    const store = await SqliteStore.open(join(dir, 'st', 'kernel.db'));
    const secrets = await SecretStore.open(store, readSecretKeyFile(join(dir, k2)));
    expect((await secrets.get('api.token')).reveal()).toBe(CANARY);
    expect((await secrets.get('db-password')).reveal()).toBe(`third ${CANARY}`);
    await store.close();

    expect(run(['secret', 'rm', 'api.token', ...state, '--key-file', k2]).stdout.trim()).toBe(
      'removed secret api.token',
    );
    fails(run(['secret', 'rm', 'api.token', ...state, '--key-file', k2]), 'FORGE_SECRET_NOT_FOUND');
    const rmJson = run(['secret', 'rm', 'db-password', ...state, '--key-file', k2, '--json']);
    expect(JSON.parse(rmJson.stdout)).toMatchObject({ ok: true, name: 'db-password' });
    expect(JSON.parse(run(['secret', 'list', ...state, '--key-file', k2, '--json']).stdout).secrets).toEqual(
      [],
    );
    fails(run(['secret', 'check', 'api.token', ...state, '--key-file', k2]), 'FORGE_SECRET_NOT_FOUND');

    // The canary is in no output and in none of the state's bytes (database, WAL, shared memory).
    for (const output of outputs) for (const form of canaryForms) expect(output).not.toContain(form);
    for (const bytes of stateFiles('st'))
      for (const form of canaryForms) expect(bytes.includes(form)).toBe(false);
  }, 180_000);

  it('moves between passphrases and key files', () => {
    const state = ['--state', 'pp'];
    const old = { FORGEONE_SECRET_PASSPHRASE: 'old pass' };
    expect(run(['secret', 'set', 'a', ...state], { input: CANARY, env: old }).code).toBe(0);
    fails(
      run(['secret', 'list', ...state], { env: { FORGEONE_SECRET_PASSPHRASE: 'wrong pass' } }),
      'FORGE_SECRET_KEY_WRONG',
    );
    const k = keyFile('pp.key');
    fails(run(['secret', 'list', ...state, '--key-file', k]), 'FORGE_SECRET_KEY_WRONG');
    expect(
      run(['secret', 'rotate-key', ...state], { env: { ...old, FORGEONE_SECRET_NEW_PASSPHRASE: 'new pass' } })
        .code,
    ).toBe(0);
    fails(run(['secret', 'check', ...state], { env: old }), 'FORGE_SECRET_KEY_WRONG');
    expect(
      run(['secret', 'rotate-key', ...state, '--new-key-file', k], {
        env: { FORGEONE_SECRET_PASSPHRASE: 'new pass' },
      }).code,
    ).toBe(0);
    expect(run(['secret', 'check', ...state, '--key-file', k]).stdout.trim()).toBe('1 secret(s) intact');
    for (const output of outputs) expect(output).not.toContain(CANARY);
  }, 180_000);

  it('refuses bad input with one line and a code, and keeps every stored secret intact', async () => {
    const k = keyFile('bad.key');
    const state = ['--state', 'bad'];
    expect(run(['secret', 'set', 'keep', ...state, '--key-file', k], { input: CANARY }).code).toBe(0);
    // A value on the command line is refused, and not echoed.
    const argv = run(['secret', 'set', 'x', `argv-${CANARY}`, ...state, '--key-file', k]);
    fails(argv, 'FORGE_CLI_USAGE', 2);
    expect(argv.stderr).not.toContain(CANARY);
    fails(
      run(['secret', 'set', 'x', ...state, '--key-file', k], { input: '' }),
      'FORGE_SECRET_VALUE_INVALID',
    );
    fails(
      run(['secret', 'set', 'x', ...state, '--key-file', k], { input: 'v'.repeat(70_000) }),
      'FORGE_SECRET_VALUE_INVALID',
    );
    fails(
      run(['secret', 'set', '../etc', ...state, '--key-file', k], { input: 'v' }),
      'FORGE_SECRET_NAME_INVALID',
    );
    fails(run(['secret', 'set', 'x', ...state], { input: 'v' }), 'FORGE_SECRET_KEY_MISSING');
    fails(
      run(['secret', 'set', 'x', ...state, '--key-file', k], {
        input: 'v',
        env: { FORGEONE_SECRET_PASSPHRASE: 'p' },
      }),
      'FORGE_CLI_USAGE',
      2,
    );
    fails(
      run(['secret', 'list', ...state, '--key-file', keyFile('open.key', 0o644)]),
      'FORGE_SECRET_KEY_FILE_UNSAFE',
    );
    symlinkSync(join(dir, k), join(dir, 'link.key'));
    fails(run(['secret', 'list', ...state, '--key-file', 'link.key']), 'FORGE_SECRET_KEY_FILE_UNSAFE');
    fails(run(['secret', 'list', ...state, '--key-file', 'absent.key']), 'FORGE_SECRET_KEY_FILE_INVALID');
    fails(run(['secret', 'rotate-key', ...state, '--key-file', k]), 'FORGE_SECRET_KEY_MISSING');
    // A state with no secrets needs no key to say so, and is not created by asking.
    const none = run(['secret', 'list', '--state', 'none']);
    expect([none.code, none.stdout.trim()]).toEqual([0, 'no secrets in this state']);
    expect(existsSync(join(dir, 'none'))).toBe(false);
    fails(run(['secret', 'rm', 'x', '--state', 'none']), 'FORGE_SECRET_NOT_FOUND');

    // A flipped byte of the ciphertext in kernel.db: check names the secret, nothing decrypts.
    const store = await SqliteStore.open(join(dir, 'bad', 'kernel.db'));
    const record = (await store.getRecord(SECRETS_NAMESPACE, 'keep'))!.value as Record<string, JsonValue>;
    const bytes = Buffer.from(record.ciphertext as string, 'base64');
    bytes[3] = bytes[3]! ^ 0x01;
    await store.putRecord(SECRETS_NAMESPACE, 'keep', { ...record, ciphertext: bytes.toString('base64') });
    await store.close();
    const tampered = run(['secret', 'check', ...state, '--key-file', k, '--json']);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({
      ok: false,
      code: 'FORGE_SECRET_TAMPERED',
      details: { name: 'keep' },
    });
    fails(run(['secret', 'check', ...state, '--key-file', k]), 'FORGE_SECRET_TAMPERED');
    for (const output of outputs) expect(output).not.toContain(CANARY);
  }, 180_000);

  it('a rotation killed at any point leaves every secret under one key, old or new, with its value', async () => {
    const oldKey = keyFile('kill-old.key');
    const newKey = keyFile('kill-new.key');
    const state = join(dir, 'kill');
    const store = await openStateStore(state);
    const secrets = await SecretStore.open(store, readSecretKeyFile(join(dir, oldKey)));
    const values = new Map(
      Array.from({ length: 1000 }, (_, i) => [`s${i}`, `value-${i}-${CANARY}`] as const),
    );
    for (const [name, value] of values) await secrets.set(name, value);
    await store.close();
    let rotated = false;
    // Killed after a growing pause: somewhere before, inside or after the rotation's transaction.
    for (const pauseMs of [0, 150, 300, 450, 600, 900, 1500, 3000]) {
      const [from, to] = rotated ? [newKey, oldKey] : [oldKey, newKey];
      const child = spawn(
        process.execPath,
        [cliPath, 'secret', 'rotate-key', '--state', state, '--key-file', from, '--new-key-file', to],
        {
          cwd: dir,
          stdio: 'ignore',
          env: { ...process.env, ...noKeyEnv } as NodeJS.ProcessEnv,
        },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      child.kill('SIGKILL');
      await exited;
      const reopened = await SqliteStore.open(join(state, 'kernel.db'));
      const openedWith = async (name: string) =>
        SecretStore.open(reopened, readSecretKeyFile(join(dir, name))).then(
          (opened) => opened,
          () => undefined,
        );
      const underTo = await openedWith(to);
      const under = underTo ?? (await openedWith(from));
      expect(under, 'the store opens with the old or the new key').toBeDefined();
      for (const [name, value] of values) expect((await under!.get(name)).reveal()).toBe(value);
      await reopened.close();
      if (underTo !== undefined) rotated = !rotated;
    }
  }, 180_000);
});
