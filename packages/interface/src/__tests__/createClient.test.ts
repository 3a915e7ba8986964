import { createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import { createClient, parseDaemonUrl } from '@forgeone/interface';

describe('createClient', () => {
  it('parseDaemonUrl: any text is a clean http(s) base URL or FORGE_API_CLIENT_URL_INVALID, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.constantFrom(
            'http://u:p@h',
            'file:///etc/passwd',
            'javascript:alert(1)',
            'http://',
            'HTTP://H:80/',
          ),
        ),
        (text) => {
          let base: string;
          try {
            base = parseDaemonUrl(text);
          } catch (error) {
            expect(isForgeError(error) && error.code).toBe('FORGE_API_CLIENT_URL_INVALID');
            expect((error as Error).message).not.toContain('\n');
            return;
          }
          const url = new URL(base);
          expect(['http:', 'https:']).toContain(url.protocol);
          expect(url.username + url.password + url.search + url.hash).toBe('');
          expect(base.endsWith('/')).toBe(false);
        },
      ),
    );
  });

  it('a refused connection and a silent server are coded errors, not TypeError', async () => {
    // A server that accepts and never answers; its sockets are ended by the test, since a server
    // closes only once every connection has (the client's may stay open after its timeout).
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const port = (silent.address() as { port: number }).port;
    const slow = createClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 200 });
    await expect(slow.call('getHealth')).rejects.toMatchObject({ code: 'FORGE_API_TIMEOUT' });
    const closed = new Promise<void>((done) => silent.close(() => done()));
    for (const socket of sockets) socket.destroy();
    await closed;
    const gone = createClient({ url: `http://127.0.0.1:${port}` });
    await expect(gone.call('getHealth')).rejects.toMatchObject({ code: 'FORGE_API_UNREACHABLE' });
    // The event stream too.
    await expect(gone.events().next()).rejects.toMatchObject({ code: 'FORGE_API_UNREACHABLE' });
  });
});
