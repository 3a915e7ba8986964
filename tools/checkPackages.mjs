#!/usr/bin/env node
// Runs `publint --strict` and `attw --pack` on every published package (apps: publint only).
// Fails when any package has a problem. Packages must be built first.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

const targets = [];
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    targets.push({ dir, name: pkg.name, typed: Boolean(pkg.exports) });
  }
}

function run(cmd, args, cwd) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => done({ code, output }));
  });
}

async function check({ dir, name, typed }) {
  const problems = [];
  const lint = await run(bin('publint'), ['--strict'], dir);
  if (lint.code !== 0 || /warning|error|suggestion/i.test(lint.output.replace(/No problems found/i, ''))) {
    problems.push(`publint:\n${lint.output.trim()}`);
  }
  if (typed) {
    const types = await run(bin('attw'), ['--pack', '--format', 'ascii'], dir);
    if (types.code !== 0) problems.push(`attw:\n${types.output.trim()}`);
  }
  return { name, problems };
}

// Two at a time: these machines have two cores.
const results = [];
const queue = [...targets];
await Promise.all(
  [0, 1].map(async () => {
    for (let next = queue.shift(); next; next = queue.shift()) results.push(await check(next));
  }),
);
let failed = 0;
for (const { name, problems } of results.sort((a, b) => a.name.localeCompare(b.name))) {
  if (problems.length === 0) {
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}\n${problems.join('\n')}`);
  }
}
if (failed > 0) {
  console.error(`FORGE_PACKAGE_CHECK: ${failed} package(s) failed publint/attw`);
  process.exit(1);
}
console.log(
  `${results.length} packages pass publint --strict${targets.some((t) => t.typed) ? ' and attw --pack' : ''}`,
);
