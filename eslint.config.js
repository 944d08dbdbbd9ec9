import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-*/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs a suite whether or not its promise is awaited.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
    },
  },
  // Module boundaries: each stage gets what it needs through deps, never from a sibling.
  ...boundary('src/pipeline/**', ['**/store/*', '**/proxy/*', '**/auth/**', '**/front/*']),
  ...boundary('src/proxy/**', ['**/store/*', '**/pipeline/*', '**/auth/**', '**/front/*']),
  ...boundary('src/store/**', [
    '**/pipeline/*',
    '**/proxy/*',
    '**/auth/**',
    '**/http/*',
    '**/tokens/*',
    '**/front/*',
  ]),
  ...boundary('src/auth/**', [
    '**/store/lowdb-store.js',
    '**/store/redis-store.js',
    '**/pipeline/*',
    '**/proxy/*',
    '**/front/*',
  ]),
  ...boundary('src/http/**', ['**/pipeline/*', '**/front/*', '**/auth/**']),
  ...boundary('src/{errors.ts,config/schema.ts}', ['./*', '../*']),
  {
    // piscina loads the bcrypt worker with require(): it is CommonJS (see the file).
    files: ['**/*.cts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);

function boundary(files, patterns) {
  return [
    {
      files: [files],
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: [{ group: patterns, message: 'crosses a module boundary' }] },
        ],
      },
    },
  ];
}
