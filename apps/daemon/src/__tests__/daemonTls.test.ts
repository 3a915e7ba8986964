import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { run, start } from './support/daemonProcess';

const running: ReturnType<typeof start>[] = [];
afterEach(async () => {
  for (const daemon of running.splice(0)) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate it signed, and a stranger's client certificate. */
async function certificates(dir: string) {
  const ca = await generate([{ name: 'commonName', value: 'forgeoned test CA' }], {
    keyType: 'ec',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const signedBy = (issuer: { private: string; cert: string }, cn: string, server: boolean) =>
    generate([{ name: 'commonName', value: cn }], {
      keyType: 'ec',
      algorithm: 'sha256',
      ca: { key: issuer.private, cert: issuer.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: server, clientAuth: !server },
        ...(server
          ? [{ name: 'subjectAltName' as const, altNames: [{ type: 7 as const, ip: '127.0.0.1' }] }]
          : []),
      ],
    });
  const server = await signedBy(ca, '127.0.0.1', true);
  const client = await signedBy(ca, 'operator', false);
  const stranger = await generate([{ name: 'commonName', value: 'stranger' }], { keyType: 'ec' });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  return {
    ca: ca.cert,
    caFile: file('ca.pem', ca.cert),
    certFile: file('server.pem', server.cert),
    keyFile: file('server.key', server.private),
    client: { cert: client.cert, key: client.private },
    stranger: { cert: stranger.cert, key: stranger.private },
  };
}

/** GET /v1/health over TLS: the status, or the error that ended the connection. */
function health(
  base: string,
  options: { ca: string; cert?: string; key?: string },
): Promise<number | string> {
  return new Promise((done) => {
    const req = request(`${base}/v1/health`, { ...options, agent: false }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe('forgeoned TLS (child processes, certificates made in the test)', () => {
  it('with --tls-client-ca refuses a client without a certificate of that CA at the handshake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgeoned-tls-'));
    const pki = await certificates(dir);
    const daemon = start([
      '--tls-cert',
      pki.certFile,
      '--tls-key',
      pki.keyFile,
      '--tls-client-ca',
      pki.caFile,
    ]);
    running.push(daemon);
    const base = await daemon.address;
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await health(base, { ca: pki.ca, ...pki.client })).toBe(200);
    const without = await health(base, { ca: pki.ca });
    const stranger = await health(base, { ca: pki.ca, ...pki.stranger });
    for (const refused of [without, stranger]) expect(typeof refused).toBe('string');
    // Still serving after the refusals.
    expect(await health(base, { ca: pki.ca, ...pki.client })).toBe(200);
  });

  it('serves TLS without client certificates when no client CA is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgeoned-tls-'));
    const pki = await certificates(dir);
    const daemon = start(['--tls-cert', pki.certFile, '--tls-key', pki.keyFile]);
    running.push(daemon);
    const base = await daemon.address;
    expect(await health(base, { ca: pki.ca })).toBe(200);
    // Plain HTTP to the TLS port gets no API answer.
    const plain = await fetch(base.replace('https:', 'http:') + '/v1/health').then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
  });

  it('refuses TLS flags that cannot work, and files that do not load, with one coded line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgeoned-tls-'));
    const pki = await certificates(dir);
    const other = await generate([{ name: 'commonName', value: 'other' }], { keyType: 'ec' });
    const otherKey = join(dir, 'other.key');
    writeFileSync(otherKey, other.private);
    const cases: Array<[string[], RegExp]> = [
      [['--tls-cert', pki.certFile], /^FORGE_DAEMON_TLS_OPTIONS: --tls-cert needs --tls-key/],
      [['--tls-key', pki.keyFile], /^FORGE_DAEMON_TLS_OPTIONS: --tls-key needs --tls-cert/],
      [['--tls-client-ca', pki.caFile], /^FORGE_DAEMON_TLS_OPTIONS: --tls-client-ca needs/],
      [
        ['--tls-cert', join(dir, 'missing.pem'), '--tls-key', pki.keyFile],
        /^FORGE_DAEMON_TLS_INVALID: cannot read/,
      ],
      [
        ['--tls-cert', pki.keyFile, '--tls-key', pki.keyFile],
        /^FORGE_DAEMON_TLS_INVALID: .* is not a PEM certificate/,
      ],
      [
        ['--tls-cert', pki.certFile, '--tls-key', otherKey],
        /^FORGE_DAEMON_TLS_INVALID: .*do not load together/,
      ],
    ];
    for (const [flags, expected] of cases) {
      for (const args of [
        ['--port', '0', ...flags],
        ['check', ...flags],
      ]) {
        const result = run(args);
        expect(result.status).toBe(1);
        expect(result.stderr.trim()).toMatch(expected);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
    }
    const ok = run([
      'check',
      '--tls-cert',
      pki.certFile,
      '--tls-key',
      pki.keyFile,
      '--tls-client-ca',
      pki.caFile,
    ]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/tls mutual/);
  });
});
