// GraphQL Code Generator: TypeScript types and typed documents for the operations in
// src/operations.graphql, checked against the repository's committed schema.graphql.
// Codegen fails when an operation no longer validates against the schema; `tsc --noEmit`
// then fails when code uses a field whose type changed.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/operations.graphql'],
  // Any document error (unknown field, wrong argument) fails the run.
  ignoreNoDocuments: false,
  errorsOnly: false,
  generates: {
    'src/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        // Only the enums, inputs and scalars the operations use (plus the operation types).
        onlyOperationTypes: true,
        // Every custom scalar must be mapped: a new scalar in the schema fails codegen.
        strictScalars: true,
        scalars: {
          DateTime: 'string',
          JSON: 'unknown',
          Upload: 'unknown',
        },
        enumsAsTypes: true,
        useTypeImports: true,
        // No `__typename?:` on every object type; fields that ask for `__typename` still get it.
        skipTypename: true,
      },
    },
  },
};

export default config;
