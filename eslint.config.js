// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '**/coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@forgeone/*/src', '@forgeone/*/src/*', '@forgeone/*/dist/*'],
              message: 'Import a sibling package by its name only (its public index).',
            },
            {
              group: ['../../*/src', '../../*/src/*', '../../../packages/*', '../../../apps/*'],
              message: 'Never reach into another package by relative path; depend on it with workspace:*.',
            },
          ],
        },
      ],
    },
  },
  {
    // No code generated from strings on the host (STYLE.md): a zero-trust kernel must run under
    // --disallow-code-generation-from-strings, and a reader must find every line it runs in a file.
    // One documented exception, the gate's compiled hot imports (compiledHotImport.ts says why);
    // tests/src/noCodegen.test.ts also fails on any other `new Function` or `eval`, comments or not.
    files: ['packages/*/src/**', 'apps/*/src/**'],
    ignores: ['**/__tests__/**', 'packages/execution/src/gate/compiledHotImport.ts'],
    rules: { 'no-eval': 'error', 'no-implied-eval': 'error', 'no-new-func': 'error' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/__tests__/**', 'tests/**', '**/bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
