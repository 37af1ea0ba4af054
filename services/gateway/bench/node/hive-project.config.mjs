// Hive Gateway for Nova's own supergraph: the client's Authorization header goes to every
// subgraph (the services answer the caller's own data). HIVE_DEDUPLICATE_INFLIGHT=false switches
// in-flight deduplication of subgraph requests off, as hive-nodedupe.config.mjs does.
import { defineConfig } from "@graphql-hive/gateway";

const deduplicate = process.env.HIVE_DEDUPLICATE_INFLIGHT !== "false";

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      return { authorization: request.headers.get("authorization") };
    },
  },
  ...(deduplicate
    ? {}
    : { transportEntries: { "*.http": { options: { deduplicateInflightRequests: false } } } }),
});
