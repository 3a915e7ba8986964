// Speed (d): the resident memory of an idle forgeoned, fresh and with 1,000 stopped containers in
// its registry. Run after a build: `node apps/daemon/bench/memory.mjs`. The registry is filled
// through the library (1,000 inline command launches that run to their end, then a clean
// shutdown), then the built daemon is started on that data directory; RSS is read from
// /proc/<pid>/status after the daemon has been idle for a while, several times, and the median
// printed. Compare the two figures of one run; absolute numbers depend on the machine.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '@forgeone/common';
import { createKernel } from '@forgeone/interface';

const main = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/main.js');
const CONTAINERS = 1000;
const COMMAND = new TextEncoder().encode('(module (memory (export "memory") 1) (func (export "_start")))');

function rssKiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line)[1]);
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function idleDaemonRss(dataDir) {
  const child = spawn(process.execPath, [main, '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const address = await new Promise((done, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) done(match[1]);
    });
    child.on('exit', (code) => fail(new Error(`daemon exited with ${code}`)));
  });
  // One health request (the server's lazy paths warmed), then idle.
  await fetch(`${address}/v1/health`).then((r) => r.text());
  await sleep(2000);
  const samples = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKiB(child.pid));
    await sleep(500);
  }
  child.kill('SIGTERM');
  await new Promise((done) => child.on('exit', done));
  return samples.sort((a, b) => a - b)[2];
}

async function fillRegistry(dataDir) {
  const store = await SqliteStore.open(join(dataDir, 'forgeone.db'));
  const kernel = await createKernel({ store, auditStore: store });
  const t0 = Date.now();
  for (let i = 0; i < CONTAINERS; i++) {
    const id = await kernel.runtime.launchContainer({
      source: COMMAND,
      name: `job-${i}`,
      kind: 'command',
      isolation: 'inline',
      policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [] } },
    });
    if (i === 0) console.log('first container:', (await kernel.runtime.get(id)).state);
  }
  const states = {};
  for (const c of await kernel.runtime.list({})) states[c.state] = (states[c.state] ?? 0) + 1;
  await kernel.shutdown('bench');
  return { ms: Date.now() - t0, states };
}

const fresh = mkdtempSync(join(tmpdir(), 'forgeoned-mem-fresh-'));
const full = mkdtempSync(join(tmpdir(), 'forgeoned-mem-full-'));
try {
  const filled = await fillRegistry(full);
  console.log(
    `registry filled: ${CONTAINERS} launches in ${filled.ms} ms, states ${JSON.stringify(filled.states)}`,
  );
  for (let round = 1; round <= 2; round++) {
    const idle = await idleDaemonRss(fresh);
    const withRegistry = await idleDaemonRss(full);
    console.log(
      `round ${round}: idle daemon RSS ${(idle / 1024).toFixed(1)} MiB; with ${CONTAINERS} stopped containers ` +
        `${(withRegistry / 1024).toFixed(1)} MiB (${(withRegistry / idle).toFixed(2)}x, ${withRegistry >= idle ? '+' : ''}${((withRegistry - idle) / CONTAINERS).toFixed(1)} KiB per container)`,
    );
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
  rmSync(full, { recursive: true, force: true });
}
