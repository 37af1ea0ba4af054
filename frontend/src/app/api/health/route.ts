/** Liveness and readiness of the frontend process: it answers, nothing else is checked. */
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
}
