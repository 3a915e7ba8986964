import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { PassphraseSource } from '@forgeone/crypto';
import { usageError, type CliIo } from './cliIo';

/** The environment variable that holds the key passphrase. */
export const PASSPHRASE_ENV = 'FORGEONE_PASSPHRASE';

/**
 * Where key passphrases come from: FORGEONE_PASSPHRASE, else a prompt when standard input is a
 * terminal, else none. The answer is asked once per command and reused.
 */
export function passphraseSource(io: CliIo, options: { confirm?: boolean } = {}): PassphraseSource {
  let cached: Promise<string | undefined> | undefined;
  return () => {
    cached ??= (async () => {
      const fromEnv = io.env(PASSPHRASE_ENV);
      if (fromEnv !== undefined) return fromEnv;
      if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
      const first = await promptHidden('Passphrase (empty: store unencrypted): ');
      if (options.confirm === true && first !== '' && (await promptHidden('Repeat passphrase: ')) !== first) {
        throw usageError('the passphrases do not match');
      }
      return first;
    })();
    return cached;
  };
}

/** Reads one line from the terminal without echoing it (also `secret`'s passphrases and values). */
export function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolvePromise) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolvePromise(answer);
    });
    muted = true;
  });
}
