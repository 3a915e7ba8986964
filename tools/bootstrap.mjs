#!/usr/bin/env node
// Installs the workspace on a machine that has only Node.js and npm.
//
// Why a script and not a bare `pnpm install`: the front-door commands must work without a global
// pnpm, and better-sqlite3 compiles from source here, where node-gyp finds Node's headers only when
// `npm_config_nodedir` points at the Node installation that carries them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fail = (code, message) => {
  process.stderr.write(`${code}: ${message}\n`);
  process.exit(1);
};

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  fail('FORGE_BOOTSTRAP_NODE', `Node.js >= 20.19 is required, found ${process.versions.node}`);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmSpec = pkg.packageManager; // e.g. pnpm@12.4.2
if (!/^pnpm@\d+\.\d+\.\d+$/.test(pnpmSpec ?? '')) {
  fail('FORGE_BOOTSTRAP_PNPM', `package.json "packageManager" must pin pnpm, found ${pnpmSpec}`);
}

const env = { ...process.env };
// node-gyp looks for <nodedir>/include/node/node.h; prefer the running Node's own installation.
if (!env.npm_config_nodedir) {
  const nodeDir = resolve(dirname(process.execPath), '..');
  if (existsSync(join(nodeDir, 'include', 'node', 'node.h'))) env.npm_config_nodedir = nodeDir;
}
env.NX_DAEMON ??= 'false';

const localPnpm = join(root, 'node_modules', '.bin', 'pnpm');
const frozen = env.CI ? ['--frozen-lockfile'] : [];
const [cmd, args] = existsSync(localPnpm)
  ? [localPnpm, ['install', ...frozen]]
  : ['npx', ['--yes', pnpmSpec, 'install', ...frozen]];

process.stdout.write(`bootstrap: ${pnpmSpec} install${frozen.length ? ' (frozen lockfile)' : ''}\n`);
const result = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
if (result.error) fail('FORGE_BOOTSTRAP_INSTALL', result.error.message);
if (result.status !== 0) fail('FORGE_BOOTSTRAP_INSTALL', `pnpm install exited with ${result.status}`);

// better-sqlite3 is the embedded default store; check that its native part really loaded.
const probe = spawnSync(
  process.execPath,
  ['-e', "const D=require('better-sqlite3');new D(':memory:').close()"],
  { cwd: join(root, 'packages', 'common'), env, encoding: 'utf8' },
);
if (probe.status !== 0) {
  const why =
    (probe.stderr || '')
      .trim()
      .split('\n')
      .find((l) => l.includes('Error')) ?? 'unknown';
  fail('FORGE_BOOTSTRAP_SQLITE', `better-sqlite3 did not load (${why}); see CONTRIBUTING.md#native-builds`);
}
