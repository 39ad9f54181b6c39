// Flat ESLint config for every project. Typed rules use the TypeScript project service,
// so each project's tsconfig.json decides what a file sees.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';

const ORT = ['onnxruntime-node', 'onnxruntime-common', 'onnxruntime-web'];

/** Tag rules: `type:*` says what a project may build on, `scope:*` which domain it serves. */
/**
 * Cycles that exist only through test code: image-formats' specs use the shared image fixtures of
 * libs/testing, whose gRPC health helper uses embedder-proto, which takes its item-error reasons from
 * image-formats. No production import closes them.
 */
const SPEC_ONLY_CYCLES = [
  ['image-formats', 'testing'],
  ['testing', 'embedder-proto'],
];

export const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:data-access', 'type:service'] },
  {
    sourceTag: 'type:tool',
    onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:data-access', 'type:service', 'type:testing'],
  },
  {
    sourceTag: 'type:service',
    onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:data-access', 'type:testing'],
  },
  {
    sourceTag: 'type:data-access',
    onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:data-access', 'type:testing'],
  },
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:testing'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:testing'] },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:data-access', 'type:testing'],
  },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
  { sourceTag: 'scope:embedder', onlyDependOnLibsWithTags: ['scope:embedder', 'scope:shared'] },
  { sourceTag: 'scope:worker', onlyDependOnLibsWithTags: ['scope:worker', 'scope:shared'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  {
    sourceTag: 'scope:tools',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:embedder', 'scope:gateway', 'scope:worker'],
  },
  // onnxruntime-node belongs to the embedding lib and the embedder apps only.
  { sourceTag: 'scope:gateway', bannedExternalImports: [...ORT] },
  { sourceTag: 'scope:worker', bannedExternalImports: [...ORT, 'express'] },
  { sourceTag: 'scope:shared', bannedExternalImports: [...ORT, 'express'] },
  { sourceTag: 'scope:tools', bannedExternalImports: [...ORT, 'express'] },
  { sourceTag: 'scope:embedder', bannedExternalImports: ['express'] },
  { sourceTag: 'type:service', bannedExternalImports: [...ORT] },
  // express belongs to the gateway app; its domain libs stay framework-free.
  { sourceTag: 'type:domain', bannedExternalImports: ['express'] },
];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      '**/tmp/**',
      '**/*.mjs',
      '**/*.cjs',
      'bench/**',
      'deploy/**',
      '**/public/**',
      'data/**',
      'models/**',
      '**/vitest.config.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints,
          checkDynamicDependenciesExceptions: [],
          ignoredCircularDependencies: SPEC_ONLY_CYCLES,
        },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through the config module (service-kit parseConfig), not process.env.',
        },
      ],
    },
  },
  {
    // The config modules and test bootstrap are the only places that may read process.env.
    files: ['**/config.ts', '**/config/**/*.ts', 'libs/testing/src/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Tests may also use the testing lib; production code may not.
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          ignoredCircularDependencies: SPEC_ONLY_CYCLES,
          depConstraints: depConstraints.map((c) =>
            c.onlyDependOnLibsWithTags && c.sourceTag.startsWith('type:')
              ? { ...c, onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'type:testing'])] }
              : c,
          ),
        },
      ],
    },
  },
);
