// @vitest-environment node
import { apiSchema, featureName } from "./api-schema.mjs";

const SUPERGRAPH = /* GraphQL */ `
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)
  @link(url: "https://specs.apollo.dev/tag/v0.3", as: "label") {
  query: Query
}

directive @join__type(graph: join__Graph!, key: join__FieldSet, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @join__field(graph: join__Graph, requires: join__FieldSet) repeatable on FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @inaccessible on FIELD_DEFINITION | OBJECT | ARGUMENT_DEFINITION | ENUM_VALUE | INPUT_FIELD_DEFINITION
directive @label(name: String!) repeatable on FIELD_DEFINITION | OBJECT

scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph {
  AUTH @join__graph(name: "auth", url: "http://auth/graphql")
  USERS @join__graph(name: "users", url: "http://users/graphql")
}

type Query @join__type(graph: AUTH) @join__type(graph: USERS) {
  me: User! @join__field(graph: USERS)
  users(first: Int!, secret: String @inaccessible): [User!]! @join__field(graph: USERS)
  internal: Internal @inaccessible
}

type User @join__type(graph: AUTH, key: "id") @join__type(graph: USERS, key: "id") @label(name: "public") {
  id: ID!
  email: String @join__field(graph: AUTH)
  passwordHash: String @inaccessible @join__field(graph: AUTH)
  status: Status
}

enum Status { ACTIVE HIDDEN @inaccessible }

type Internal @inaccessible @join__type(graph: AUTH) { id: ID! }

input Filter { name: String, secret: String @inaccessible }
`;

describe("api-schema", () => {
  it("names @link features by alias or URL", () => {
    expect(featureName("https://specs.apollo.dev/join/v0.5", null)).toBe("join");
    expect(featureName("https://specs.apollo.dev/tag/v0.3", "label")).toBe("label");
  });

  it("removes federation machinery and inaccessible elements", () => {
    const schema = apiSchema(SUPERGRAPH);
    expect(schema).not.toMatch(/join__|link__|@link|@inaccessible|@label|@join/);
    expect(schema).not.toMatch(/passwordHash|Internal|HIDDEN|secret/);
    expect(schema).toContain("me: User!");
    expect(schema).toContain("users(first: Int!): [User!]!");
    expect(schema).toContain("email: String");
    expect(schema).toMatch(/enum Status \{\s+ACTIVE\s+\}/);
    expect(schema).toMatch(/input Filter \{\s+name: String\s+\}/);
  });

  it("refuses a supergraph whose API schema would be invalid", () => {
    expect(() => apiSchema("type Query { me: Missing }")).toThrow(/Unknown type "Missing"/);
  });
});
