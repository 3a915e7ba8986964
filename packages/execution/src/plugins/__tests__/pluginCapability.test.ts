import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isForgeError, type IdentityContext, type SyscallRequest } from '@forgeone/common';
import {
  CapabilityEnforcer,
  CapabilitySet,
  capabilityCovers,
  formatCapability,
  parseCapability,
  requiredCapabilities,
  type Capability,
} from '../../index';

const segment = fc.stringMatching(/^[a-z0-9._-]{1,6}$/).filter((s) => s !== '.' && s !== '..');
const path = fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/);
const exportName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/);
const eventName = fc.stringMatching(/^[a-z][a-z0-9]{0,3}(\.[a-z0-9]{1,3}){0,2}$/);
const rw = fc.constantFrom('read' as const, 'write' as const);

/** Well-formed capabilities of every kind, wildcards included. */
const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('fs' as const), action: rw, path }),
  fc.record({ kind: fc.constant('kv' as const), action: rw, namespace: fc.oneof(name, fc.constant('*')) }),
  fc.record({
    kind: fc.constant('plugin' as const),
    action: fc.constant('call' as const),
    plugin: name,
    export: fc.oneof(exportName, fc.constant('*')),
  }),
  fc.record({
    kind: fc.constant('event' as const),
    action: fc.constant('emit' as const),
    name: fc.oneof(eventName, fc.constant('*')),
  }),
  fc.record({
    kind: fc.constant('forge' as const),
    action: fc.constant('call' as const),
    fn: fc.constantFrom('log', 'clock_now', 'random_bytes', '*'),
  }),
  fc.record({
    kind: fc.constant('secret' as const),
    action: fc.constant('read' as const),
    name: fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,6}$/),
  }),
);

/** Paths a guest could ask for, hostile ones included. */
const guestPath = fc.oneof(
  path,
  fc
    .array(fc.constantFrom('data', 'database', '..', '.', '', 'etc', 'x y', 'a\0b'), { maxLength: 5 })
    .map((parts) => `/${parts.join('/')}`),
  fc.string({ maxLength: 12 }),
);

/** An independent statement of "granted says at least as much as needed", segment by segment. */
function oracle(granted: Capability, needed: Capability): boolean {
  if (granted.kind !== needed.kind) return false;
  const slot = (g: string, n: string) => g === '*' || g === n;
  switch (granted.kind) {
    case 'fs': {
      const n = needed as typeof granted;
      if (n.action !== granted.action || !n.path.startsWith('/')) return false;
      const g = granted.path === '/' ? [] : granted.path.split('/').slice(1);
      const parts = n.path.split('/');
      if (
        parts[0] !== '' ||
        parts.slice(1).some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))
      )
        return n.path === '/' && g.length === 0;
      return g.every((part, i) => parts[i + 1] === part);
    }
    case 'kv': {
      const n = needed as typeof granted;
      return n.action === granted.action && slot(granted.namespace, n.namespace);
    }
    case 'plugin': {
      const n = needed as typeof granted;
      return n.plugin === granted.plugin && slot(granted.export, n.export);
    }
    case 'event':
      return slot(granted.name, (needed as typeof granted).name);
    case 'forge':
      return slot(granted.fn, (needed as typeof granted).fn);
    case 'secret':
      // No wildcard: only the very name.
      return granted.name === (needed as typeof granted).name;
  }
}

describe('capability strings', () => {
  it('parses each kind into its parts', () => {
    expect(parseCapability('fs:read:/data')).toEqual({ kind: 'fs', action: 'read', path: '/data' });
    expect(parseCapability('kv:write:orders')).toEqual({ kind: 'kv', action: 'write', namespace: 'orders' });
    expect(parseCapability('plugin:call:greeter/greet')).toEqual({
      kind: 'plugin',
      action: 'call',
      plugin: 'greeter',
      export: 'greet',
    });
    expect(parseCapability('event:emit:order.created')).toMatchObject({ name: 'order.created' });
    expect(parseCapability('forge:call:log')).toMatchObject({ fn: 'log' });
    expect(parseCapability('secret:read:db-password')).toEqual({
      kind: 'secret',
      action: 'read',
      name: 'db-password',
    });
  });

  it('refuses everything that is not canonical, with a code', () => {
    const bad = [
      '',
      'fs',
      'fs:read',
      'fs:read:',
      'fs:read:data',
      'fs:read:/data/',
      'fs:read:/data/../etc',
      'fs:read:/data//x',
      'fs:read:/./data',
      'fs:read:/da*',
      'fs:exec:/data',
      'FS:read:/data',
      'kv:read:Orders',
      'kv:delete:orders',
      'kv:read:a/b',
      'plugin:call:greeter',
      'plugin:call:greeter/',
      'plugin:call:*/greet',
      'plugin:call:Greeter/greet',
      'plugin:invoke:greeter/greet',
      'plugin:call:greeter/greet/x',
      'event:emit:',
      'event:emit:Order',
      'forge:call:kv_put',
      'secret:read:*',
      'secret:read:',
      'secret:write:db',
      'secret:read:9db',
      `secret:read:${'a'.repeat(65)}`,
      'net:connect:example.org',
      `fs:read:/${'a'.repeat(1200)}`,
    ];
    for (const text of bad) {
      let error: unknown;
      try {
        parseCapability(text);
      } catch (caught) {
        error = caught;
      }
      expect(error, text).toMatchObject({ code: 'FORGE_PLUGIN_CAPABILITY_INVALID' });
    }
  });

  it('round-trips: a string that parses is exactly its canonical form (property)', () => {
    fc.assert(
      fc.property(capability, (cap) => {
        expect(parseCapability(formatCapability(cap))).toEqual(cap);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          expect(formatCapability(parseCapability(text))).toBe(text);
        } catch (error) {
          expect(isForgeError(error)).toBe(true);
        }
      }),
    );
  });

  it('never grants more than its string says (property)', () => {
    const needed: fc.Arbitrary<Capability> = fc.oneof(
      capability,
      fc.record({ kind: fc.constant('fs' as const), action: rw, path: guestPath }),
    );
    fc.assert(
      fc.property(capability, needed, (granted, want) => {
        expect(capabilityCovers(granted, want)).toBe(oracle(granted, want));
      }),
      { numRuns: 2000 },
    );
  });

  it('covers a path only at or below it, by whole segments', () => {
    const data = parseCapability('fs:read:/data');
    const fs = (p: string): Capability => ({ kind: 'fs', action: 'read', path: p });
    expect(capabilityCovers(data, fs('/data'))).toBe(true);
    expect(capabilityCovers(data, fs('/data/a/b.txt'))).toBe(true);
    for (const p of [
      '/database',
      '/data/../etc/passwd',
      '/data/./x',
      '/data//x',
      'data/x',
      '/',
      '/dat',
      '/data\0',
    ]) {
      expect(capabilityCovers(data, fs(p)), p).toBe(false);
    }
    expect(capabilityCovers(data, { kind: 'fs', action: 'write', path: '/data/x' })).toBe(false);
    expect(capabilityCovers(parseCapability('fs:write:/data'), fs('/data/x'))).toBe(false);
  });
});

describe('CapabilityEnforcer', () => {
  const identity = { subject: 'plugin:t@1.0.0' } as IdentityContext;
  const request = (syscall: string, args: SyscallRequest['args'] = {}): SyscallRequest => ({
    containerId: 'ctr_t' as SyscallRequest['containerId'],
    identity,
    syscall,
    args,
    time: 0,
  });
  const enforcer = new CapabilityEnforcer({
    holder: 'plugin t',
    grants: CapabilitySet.parse(['fs:read:/data', 'kv:read:app', 'forge:call:log', 'plugin:call:b/run']),
  });
  const allowed = (r: SyscallRequest) => enforcer.enforce(r).execute;

  it('maps calls to capabilities and refuses what is not granted, naming it', () => {
    expect(allowed(request('forge.log'))).toBe(true);
    expect(allowed(request('forge.clock_now'))).toBe(false);
    expect(allowed(request('forge.input_read'))).toBe(true);
    expect(allowed(request('forge.kv_get', { namespace: 'app', key: 'k' }))).toBe(true);
    expect(allowed(request('forge.kv_put', { namespace: 'app', key: 'k' }))).toBe(false);
    expect(allowed(request('forge.call_plugin', { plugin: 'b', export: 'run' }))).toBe(true);
    expect(allowed(request('forge.call_plugin', { plugin: 'b', export: 'admin' }))).toBe(false);
    expect(allowed(request('forge.call_plugin', { plugin: null, export: null }))).toBe(false);
    expect(allowed(request('wasi.path_open', { path: '/data/a.txt', read: true, write: false }))).toBe(true);
    expect(allowed(request('wasi.path_open', { path: '/data/a.txt', read: true, write: true }))).toBe(false);
    expect(allowed(request('wasi.path_unlink_file', { path: '/data/a.txt' }))).toBe(false);
    expect(allowed(request('wasi.path_rename', { path: '/data/a', targetPath: '/data/b' }))).toBe(false);
    expect(allowed(request('wasi.fd_read', { fd: 3 }))).toBe(true);
    expect(allowed(request('wasi.sock_accept', { fd: 3 }))).toBe(false);
    expect(allowed(request('forge.something_new'))).toBe(false);
    const refusal = enforcer.enforce(request('forge.kv_put', { namespace: 'app', key: 'k' }));
    expect(refusal.decision.reasons[0]?.message).toBe('plugin t lacks capability kv:write:app');
  });

  it('asks the kernel policy only after the capability check passes', () => {
    const asked: string[] = [];
    const layered = new CapabilityEnforcer({
      holder: 'plugin t',
      grants: CapabilitySet.parse(['forge:call:*']),
      inner: {
        enforce: (r) => {
          asked.push(r.syscall);
          return {
            decision: { action: 'deny', reasons: [{ policy: 'kernel', message: 'no' }] },
            execute: false,
            mode: 'enforce',
          };
        },
      },
    });
    expect(layered.enforce(request('forge.kv_get', { namespace: 'x' })).execute).toBe(false);
    expect(layered.enforce(request('forge.log')).decision.reasons[0]?.policy).toBe('kernel');
    expect(asked).toEqual(['forge.log']);
    expect(requiredCapabilities(request('wasi.path_link', { path: '/a', targetPath: null }))).toBe('refused');
  });
});
