#!/usr/bin/env node
// Derives the client-facing API schema from the composed supergraph.
//
//   node scripts/api-schema.mjs [--supergraph PATH] [-o OUT] [--check]
//
// The supergraph (default ../deploy/supergraph.graphql) carries federation machinery the browser
// never sees: the link/join spec types and directives, every feature imported through @link, and
// the elements marked @inaccessible. This script removes all of it with graphql-js's AST, checks
// that what remains is a valid schema, and writes it (default schema.graphql). With --check it
// writes nothing and exits 1 when OUT differs from what it would write.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildASTSchema, Kind, parse, printSchema, visit } from "graphql";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

/** The name a `@link(url:, as:)` feature is known by: `as`, else the URL's last name segment. */
export function featureName(url, alias) {
  if (alias) return alias;
  const segments = new URL(url).pathname.split("/").filter(Boolean);
  const last = segments.at(-1) ?? "";
  return /^v\d+\.\d+$/.test(last) ? (segments.at(-2) ?? "") : last;
}

function argumentValue(directive, name) {
  return directive.arguments?.find((argument) => argument.name.value === name)?.value;
}

/** Names (without `@`) of every directive and type the schema's @link features bring in. */
export function linkedNames(document) {
  const prefixes = new Set(["link"]);
  const names = new Set(["link", "link__Import", "link__Purpose"]);
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) {
      continue;
    }
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== "link") continue;
      const url = argumentValue(directive, "url");
      if (url?.kind !== Kind.STRING) continue;
      const alias = argumentValue(directive, "as");
      const feature = featureName(url.value, alias?.kind === Kind.STRING ? alias.value : null);
      prefixes.add(feature);
      names.add(feature);
      const imports = argumentValue(directive, "import");
      for (const item of imports?.kind === Kind.LIST ? imports.values : []) {
        if (item.kind === Kind.STRING) {
          names.add(item.value.replace(/^@/, ""));
        } else if (item.kind === Kind.OBJECT) {
          const field = (key) => item.fields.find((entry) => entry.name.value === key)?.value;
          const imported = field("as") ?? field("name");
          if (imported?.kind === Kind.STRING) names.add(imported.value.replace(/^@/, ""));
        }
      }
    }
  }
  return { names, prefixes };
}

/** The API schema document of a supergraph document. */
export function apiSchemaDocument(supergraph) {
  const { names, prefixes } = linkedNames(supergraph);
  const isMachinery = (name) =>
    names.has(name) || [...prefixes].some((prefix) => name.startsWith(`${prefix}__`));
  const inaccessible = (node) =>
    (node.directives ?? []).some((directive) => directive.name.value === "inaccessible");

  const hidden = new Set();
  for (const definition of supergraph.definitions) {
    if ("name" in definition && definition.name && inaccessible(definition)) {
      hidden.add(definition.name.value);
    }
  }
  const dropElement = (node) => (inaccessible(node) ? null : undefined);
  const dropType = (node) =>
    isMachinery(node.name.value) || hidden.has(node.name.value) ? null : undefined;
  const stripped = visit(supergraph, {
    SchemaDefinition: { leave: (node) => ({ ...node, directives: [] }) },
    SchemaExtension: { leave: () => null },
    DirectiveDefinition: (node) => (isMachinery(node.name.value) ? null : undefined),
    Directive: (node) => (isMachinery(node.name.value) ? null : undefined),
    ScalarTypeDefinition: dropType,
    ObjectTypeDefinition: dropType,
    InterfaceTypeDefinition: dropType,
    UnionTypeDefinition: {
      enter: dropType,
      leave: (node) => ({
        ...node,
        types: node.types?.filter((type) => !hidden.has(type.name.value)),
      }),
    },
    EnumTypeDefinition: dropType,
    InputObjectTypeDefinition: dropType,
    FieldDefinition: dropElement,
    InputValueDefinition: dropElement,
    EnumValueDefinition: dropElement,
    NamedType: {
      // An interface implemented by a hidden interface disappears with it.
      leave: (node, _key, parent) =>
        Array.isArray(parent) && hidden.has(node.name.value) ? null : undefined,
    },
  });
  return stripped;
}

/** The printed API schema of a supergraph SDL text (validated by building it). */
export function apiSchema(supergraphSdl) {
  const document = apiSchemaDocument(parse(supergraphSdl));
  const schema = buildASTSchema(document);
  return `${printSchema(schema)}\n`;
}

function parseArguments(argv) {
  const options = {
    supergraph: resolve(root, "..", "deploy", "supergraph.graphql"),
    output: resolve(root, "schema.graphql"),
    check: false,
  };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === "--supergraph") options.supergraph = resolve(argv[++index] ?? "");
    else if (argument === "-o" || argument === "--output") options.output = resolve(argv[++index]);
    else if (argument === "--check") options.check = true;
    else {
      console.error(`api-schema: unknown argument ${argument}`);
      process.exit(2);
    }
  }
  if (process.env.NOVA_SUPERGRAPH && !argv.includes("--supergraph")) {
    options.supergraph = resolve(process.env.NOVA_SUPERGRAPH);
  }
  return options;
}

function main() {
  const options = parseArguments(process.argv.slice(2));
  let supergraph;
  try {
    supergraph = readFileSync(options.supergraph, "utf8");
  } catch {
    console.error(
      `api-schema: cannot read the supergraph ${options.supergraph}; compose it first ` +
        "(make supergraph) or pass --supergraph PATH",
    );
    process.exit(1);
  }
  const schema = apiSchema(supergraph);
  if (options.check) {
    let current = "";
    try {
      current = readFileSync(options.output, "utf8");
    } catch {}
    if (current !== schema) {
      console.error(`api-schema: ${options.output} is out of date; run npm run codegen`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(options.output, schema);
  console.log(`api-schema: wrote ${options.output} from ${options.supergraph}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
