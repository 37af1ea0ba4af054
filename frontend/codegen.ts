import type { CodegenConfig } from "@graphql-codegen/cli";

/** Types for every operation in src/, from the API schema derived from the supergraph. */
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { DateTime: "string" },
        skipTypename: false,
      },
    },
  },
};

export default config;
