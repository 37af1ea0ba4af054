// Hive Gateway with in-flight deduplication of subgraph requests switched off (it is on by
// default), for the like-for-like comparison with `nova-nodedupe`.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  transportEntries: {
    "*.http": { options: { deduplicateInflightRequests: false } },
  },
});
