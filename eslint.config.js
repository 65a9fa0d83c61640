// Lint, with the layering rule that keeps each runtime in its folder (see STYLE.md "Layout").
import tseslint from 'typescript-eslint';

const electron = { name: 'electron', message: 'Only main/electron/ may import electron (the desktop shell).' };
const nodeBuiltins = { group: ['node:*'], message: 'shared/ and renderer/ run without Node: no node: built-ins.' };
const mainFromRenderer = { group: ['**/main/**', '../main/*', '../../main/*'], message: 'renderer/ talks to the broker through BrokerApi only, never main/.' };
const runtimeFromShared = { group: ['**/main/**', '**/renderer/**', '../main/*', '../renderer/*'], message: 'shared/ is pure TypeScript: it imports nothing runtime-specific.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/lint/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The bin entry is CommonJS on purpose (it keeps the tool commands off the ES module loader).
    files: ['bin/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['shared/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [nodeBuiltins, runtimeFromShared] }] },
  },
  {
    files: ['main/core/**/*.ts', 'main/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [{ group: ['**/main/electron/**', '../electron/*'], message: 'the core and the CLI never reach into the desktop shell.' }] }] },
  },
  {
    // Time and the network reach the core through options (STYLE.md: a clock, fetch); main/core/clock.ts is the one seam.
    files: ['main/core/**/*.ts'],
    ignores: ['main/core/clock.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'take a `now` option (default systemMs from main/core/clock.ts)' }],
      'no-restricted-globals': ['error', { name: 'fetch', message: 'take a `fetch` option (default systemFetch from main/core/clock.ts)' }],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'take a `now` option (default systemNow from main/core/clock.ts)' }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [nodeBuiltins, mainFromRenderer] }] },
  },
);
