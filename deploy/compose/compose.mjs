#!/usr/bin/env node
// Composes subgraph SDL files into an Apollo Federation v2 supergraph.
//
//   node compose.mjs [-o OUT] [--url NAME=URL ...] NAME=SDL_PATH | SDL_PATH ...
//
// A bare SDL_PATH names its subgraph after the file ("users.graphql" -> users). Without --url a
// subgraph's routing URL is http://NAME/graphql; the gateway can override URLs at run time.
// On composition errors every message of the composer is printed and the exit code is 1.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

function usage(message) {
  if (message) console.error(`compose: ${message}`);
  console.error("usage: node compose.mjs [-o OUT] [--url NAME=URL ...] NAME=SDL_PATH|SDL_PATH ...");
  process.exit(2);
}

function parseArguments(argv) {
  const subgraphs = [];
  const urls = new Map();
  let output = null;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === "-o" || argument === "--output") {
      output = argv[++index] ?? usage("-o needs a path");
    } else if (argument === "--url") {
      const pair = argv[++index] ?? usage("--url needs NAME=URL");
      const split = pair.indexOf("=");
      if (split <= 0) usage(`--url expects NAME=URL, got ${pair}`);
      urls.set(pair.slice(0, split), pair.slice(split + 1));
    } else if (argument === "-h" || argument === "--help") {
      usage();
    } else if (argument.startsWith("-")) {
      usage(`unknown option ${argument}`);
    } else {
      const split = argument.indexOf("=");
      const name = split > 0 ? argument.slice(0, split) : basename(argument, extname(argument));
      const path = split > 0 ? argument.slice(split + 1) : argument;
      subgraphs.push({ name, path });
    }
  }
  if (subgraphs.length === 0) usage("no subgraph given");
  return { subgraphs, urls, output };
}

const { subgraphs, urls, output } = parseArguments(process.argv.slice(2));
const services = [];
for (const { name, path } of subgraphs) {
  let typeDefs;
  try {
    typeDefs = parse(readFileSync(path, "utf8"));
  } catch (error) {
    console.error(`compose: subgraph ${name} (${path}): ${error.message}`);
    process.exit(1);
  }
  services.push({ name, typeDefs, url: urls.get(name) ?? `http://${name}/graphql` });
}

const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) {
    const code = error.extensions?.code ? `[${error.extensions.code}] ` : "";
    console.error(`compose: ${code}${error.message}`);
  }
  console.error(`compose: composition failed with ${result.errors.length} error(s)`);
  process.exit(1);
}
const supergraph = result.supergraphSdl.endsWith("\n")
  ? result.supergraphSdl
  : `${result.supergraphSdl}\n`;
if (output) writeFileSync(output, supergraph);
else process.stdout.write(supergraph);
