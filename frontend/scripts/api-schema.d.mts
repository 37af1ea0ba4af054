import type { DocumentNode } from "graphql";

export function featureName(url: string, alias: string | null): string;
export function linkedNames(document: DocumentNode): { names: Set<string>; prefixes: Set<string> };
export function apiSchemaDocument(supergraph: DocumentNode): DocumentNode;
export function apiSchema(supergraphSdl: string): string;
