// The layering of ARCHITECTURE.md, enforced: a package may import only the packages below it.
// `pnpm run check:layers` fails on any violation or import cycle.
/** @type {Record<string, string[]>} what each package may import (besides itself) */
const allowed = {
  common: [],
  crypto: ['common'],
  config: ['common'],
  observer: ['common', 'crypto', 'config'],
  trust: ['common', 'crypto', 'config'],
  diagnostics: ['common', 'crypto', 'config', 'observer'],
  execution: ['common', 'crypto', 'config', 'observer', 'trust', 'diagnostics'],
  core: ['common', 'crypto', 'config', 'observer', 'trust', 'diagnostics', 'execution'],
  interface: ['common', 'crypto', 'config', 'observer', 'trust', 'diagnostics', 'execution', 'core'],
};
const all = Object.keys(allowed);

// Inside @forgeone/execution, the folders of src/ in the same way: each may import only the folders
// below it (packages/execution/README.md, "Where things live"). Only src/index.ts imports host/.
// Tests (`__tests__/`) go through the public index and are not bound by this table.
/** @type {Record<string, string[]>} what each folder of packages/execution/src may import (besides itself) */
const executionFolders = {
  module: [],
  gate: ['module'],
  forge: ['module', 'gate'],
  wasi: ['module', 'gate'],
  replay: ['module', 'gate'],
  world: ['module', 'gate', 'forge', 'wasi', 'replay'],
  snapshot: ['module', 'gate', 'forge', 'wasi', 'replay', 'world'],
  isolation: ['module', 'gate', 'forge', 'wasi', 'replay', 'world', 'snapshot'],
  plugins: ['module', 'gate', 'forge', 'wasi', 'replay', 'world', 'snapshot', 'isolation'],
  wasmer: ['module', 'gate', 'forge', 'wasi', 'replay', 'world', 'snapshot', 'isolation', 'plugins'],
  host: ['module', 'gate', 'forge', 'wasi', 'replay', 'world', 'snapshot', 'isolation', 'plugins', 'wasmer'],
};
const executionSrc = '^packages/execution/src/';
const executionTests = '(^|/)__tests__/';
// A target package is matched by its folder (resolved through the workspace link) or by its name.
const target = (names) => `^(packages/(${names.join('|')})/|@forgeone/(${names.join('|')})(/|$))`;

module.exports = {
  forbidden: [
    ...all.map((pkg) => ({
      name: `layer-${pkg}`,
      comment: `@forgeone/${pkg} may import only: ${allowed[pkg].join(', ') || '(no other package)'} (ARCHITECTURE.md)`,
      severity: 'error',
      from: { path: `^packages/${pkg}/` },
      to: { path: target(all.filter((other) => other !== pkg && !allowed[pkg].includes(other))) },
    })),
    ...Object.entries(executionFolders).map(([folder, below]) => ({
      name: `execution-${folder}`,
      comment:
        `execution/src/${folder}/ may import only: ${below.join(', ') || '(no other folder)'} ` +
        '(packages/execution/README.md, "Where things live")',
      severity: 'error',
      from: { path: `${executionSrc}${folder}/`, pathNot: executionTests },
      // Any folder not in the table counts as forbidden: a new folder is placed in the table first.
      to: { path: `${executionSrc}(?!(${[folder, ...below].join('|')})/)[^/]+/` },
    })),
    {
      name: 'execution-folders-only',
      comment:
        'Code of @forgeone/execution lives in a folder of the table in .dependency-cruiser.cjs ' +
        '(src/index.ts aside): put the file in the folder of its responsibility, or add the folder there.',
      severity: 'error',
      from: {
        path: executionSrc,
        pathNot: [
          `${executionSrc}(${Object.keys(executionFolders).join('|')})/`,
          `${executionSrc}index\\.ts$`,
          executionTests,
        ],
      },
      to: { path: executionSrc },
    },
    {
      name: 'no-apps-import',
      comment: 'Nothing imports the apps: they are leaves.',
      severity: 'error',
      from: { path: '^(packages|tests)/' },
      to: { path: '^(apps/|@forgeone/(cli|daemon)(/|$))' },
    },
    {
      name: 'no-own-index',
      comment: 'Code inside a package never imports its own public index (tests may).',
      severity: 'error',
      from: {
        path: '^packages/([^/]+)/src/(?!.*__tests__/)',
        pathNot: '^packages/[^/]+/src/index\\.ts$',
      },
      to: { path: '^packages/$1/src/index\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'Import cycles make layering meaningless and builds order-dependent.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    combinedDependencies: true,
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
