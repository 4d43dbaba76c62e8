import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed operations for the end-to-end tests (and any TypeScript client) from the committed SDL.
const config: CodegenConfig = {
  schema: "schema/schema.graphql",
  documents: ["test/operations/*.graphql"],
  generates: {
    "test/generated/": {
      preset: "client",
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown" },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
  // NodeNext resolution needs explicit extensions (docs/stack.md #11).
  importExtension: ".js",
  ignoreNoDocuments: false,
};

export default config;
