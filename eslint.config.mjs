// Lint: typescript-eslint's recommended rules, and the import boundaries the architecture keeps
// (docs/ARCHITECTURE.md; test/unit/boundaries.test.ts checks cycles too).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeOrVscode = [{ group: ['node:*', 'vscode'], message: 'src/shared is shared by every face: no node: or vscode import.' }];

export default tseslint.config(
  { ignores: ['dist/', 'out/', '.vscode-test/', 'node_modules/', 'test/agents/', '**/*.mjs', '**/*.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Unused names are a type-check concern here; `_`-prefixed ones are deliberate.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Heavy modules (the price catalogue, undici, the engine bundle) are required lazily on purpose,
      // so start-up and idle memory stay small (docs/BENCHMARKS.md).
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Small pieces with names: no function over 60 lines, no file over 400.
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
    },
  },
  {
    // Fakes and test clients handle arbitrary provider JSON.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...nodeOrVscode,
            { group: ['../engine/*', '../extension/*', '../cli/*', '../capture/*'], message: 'src/shared imports nothing of the project.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/engine/**/*.ts', 'src/cli/**/*.ts', 'src/cli.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'The engine and the CLI run without VS Code.' }],
          patterns: [{ group: ['**/extension/*'], message: 'The engine and the CLI do not import the extension.' }],
        },
      ],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/engine/*', '**/src/extension/*', '**/src/cli/*', '**/src/capture/*', 'node:*', 'vscode'],
              message: 'The dashboard app imports only src/shared.',
            },
          ],
        },
      ],
    },
  },
);
