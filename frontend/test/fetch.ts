/** A scripted `fetch` for unit tests: answers in order, records every request. */
import { vi } from "vitest";

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  credentials: RequestCredentials | undefined;
}

export type Answer = Response | ((request: RecordedRequest) => Response);

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });

export function scriptFetch(...answers: Answer[]) {
  const requests: RecordedRequest[] = [];
  const queue = [...answers];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const request: RecordedRequest = {
      url,
      method: (init?.method ?? "GET").toUpperCase(),
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : undefined,
      credentials: init?.credentials,
    };
    requests.push(request);
    const answer = queue.shift();
    if (!answer) throw new Error(`unexpected request ${request.method} ${url}`);
    return typeof answer === "function" ? answer(request) : answer;
  });
  vi.stubGlobal("fetch", fetchMock);
  return { requests, fetchMock, remaining: () => queue.length };
}
