/**
 * Stops the process groups the global setup started, the last started first (SIGTERM, then
 * SIGKILL after 45 s).
 */
import { existsSync } from "node:fs";
import { STATE_FILE, stackState } from "./stack";

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stop(pgid: number): Promise<void> {
  try {
    process.kill(-pgid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 45_000;
  while (alive(pgid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 500));
  if (alive(pgid)) process.kill(-pgid, "SIGKILL");
}

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STATE_FILE) || process.env.NOVA_E2E_KEEP_STACK === "1") return;
  for (const pgid of [...stackState().pgids].reverse()) await stop(pgid);
}
