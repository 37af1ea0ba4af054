// Apollo Gateway serving a supergraph file:
//   node apollo_gateway.mjs SUPERGRAPH PORT [--forward-authorization]
// With --forward-authorization the client's Authorization header goes to every subgraph.
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [supergraphPath, port, ...flags] = process.argv.slice(2);
const forwardAuthorization = flags.includes("--forward-authorization");

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphPath, "utf8"),
  ...(forwardAuthorization && {
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest({ request, context }) {
          if (context.authorization) {
            request.http.headers.set("authorization", context.authorization);
          }
        },
      }),
  }),
});
const server = new ApolloServer({ gateway, introspection: false, csrfPrevention: false });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
  ...(forwardAuthorization && {
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  }),
});
console.log(`apollo gateway listening on ${url}`);
