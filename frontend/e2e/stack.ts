/** What the global setup found or started, shared with the tests through a JSON file. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const STATE_FILE = join(import.meta.dirname, "..", "test-results", "e2e-stack.json");

export interface StackState {
  /** Process groups the setup started, in start order (none when all was already running). */
  pgids: number[];
  baseURL: string;
  gatewayURL: string;
  /** Whether the gateway answered /ready (GraphQL and REST both usable). */
  backend: boolean;
  admin?: { email: string; password: string };
  /** The Maildir the dev stack's SMTP sink writes every mail to. */
  maildir?: string;
  /** The OpenID provider the setup started and configured auth with (its dev login signs
   * anyone in), when it started the backend. */
  oidc?: { name: string; label: string; issuer: string };
}

export function stackState(): StackState {
  return JSON.parse(readFileSync(STATE_FILE, "utf8")) as StackState;
}
