import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import { parseWorkloadText } from '../index';

const codeOf = (text: string): string | undefined => {
  try {
    parseWorkloadText(text, '/work/w.yaml');
  } catch (error) {
    return isForgeError(error) ? `${error.code} ${error.message}` : `not a ForgeError: ${String(error)}`;
  }
  return undefined;
};

describe('parseWorkloadText', () => {
  it('reads workloads with their defaults, paths resolved against the file', () => {
    const file = parseWorkloadText(
      `workloads:
  - name: a
    module: mods/a.wat
    allow: forge.log, wasi.fd_write
    args: [x, 2, true]
  - name: b
    package: /pkgs/b.forgepkg
    priority: critical
    tenant: t
    dependsOn: [a]
    dir: ['data:/data:ro']
    timeout: 500
    memoryPages: 8
`,
      '/work/w.yaml',
    );
    expect(file.baseDir).toBe('/work');
    expect(file.workloads).toEqual([
      {
        name: 'a',
        file: '/work/mods/a.wat',
        kind: 'module',
        priority: 'normal',
        tenant: 'default',
        dependsOn: [],
        allow: ['forge.log', 'wasi.fd_write'],
        dir: [],
        args: ['x', '2', 'true'],
      },
      {
        name: 'b',
        file: '/pkgs/b.forgepkg',
        kind: 'package',
        priority: 'critical',
        tenant: 't',
        dependsOn: ['a'],
        allow: [],
        dir: ['data:/data:ro'],
        timeout: 500,
        memoryPages: 8,
        args: [],
      },
    ]);
    expect(file.where(1, 'priority')).toBe('/work/w.yaml:8:15');
  });

  it('refuses a bad limit, a bad name, and an empty list, located', () => {
    const one = (extra: string) => `workloads:\n  - name: a\n    module: a.wat\n${extra}`;
    expect(codeOf(one('    timeout: 0\n'))).toMatch(
      /^FORGE_SCHEDULE_FILE_INVALID \/work\/w\.yaml:4:14: workloads\[0\]\.timeout: /,
    );
    expect(codeOf(one('    memoryPages: 70000\n'))).toMatch(
      /^FORGE_SCHEDULE_FILE_INVALID .*:4:\d+: workloads\[0\]\.memoryPages/,
    );
    expect(codeOf('workloads:\n  - name: "../x"\n    module: a.wat\n')).toMatch(
      /workloads\[0\]\.name: a name is/,
    );
    expect(codeOf('workloads: []\n')).toMatch(/FORGE_SCHEDULE_FILE_INVALID .*no workloads/);
    expect(codeOf('jobs: []\n')).toMatch(/FORGE_SCHEDULE_FILE_INVALID .*jobs: unknown field/);
    expect(codeOf('workloads:\n  - module: a.wat\n')).toMatch(
      /:2:5: workloads\[0\]\.name: a required field is missing/,
    );
    expect(codeOf(one('    module: b.wat\n'))).toMatch(
      /FORGE_SCHEDULE_FILE_INVALID .*:4:\d+: not valid YAML.*/,
    );
  });

  it('never fails on any text with anything but a coded ForgeError', () => {
    const fragments = fc.constantFrom(
      'workloads:',
      '\n',
      '  - name: a',
      '    module: a.wat',
      '    dependsOn: [a]',
      '    priority: ',
      'low',
      '    allow: ',
      'wasi.*',
      '[',
      ']',
      '{',
      '}',
      ':',
      '- ',
      '"',
      "'",
      '&x',
      '*x',
      '    timeout: 1e9',
      '\t',
      '#',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fragments, fc.string()), { maxLength: 30 }), (parts) => {
        const result = codeOf(parts.join(''));
        if (result !== undefined) expect(result).toMatch(/^FORGE_[A-Z_]+ /);
      }),
      { numRuns: 500 },
    );
  });
});
