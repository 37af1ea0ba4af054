import type { Preview, StoryContext } from "@storybook/nextjs-vite";
import { HttpResponse, http } from "msw";
import { setupWorker } from "msw/browser";
import { createPreviewAnnotations } from "msw-storybook-addon/preview";
import { Providers } from "@/app/providers.client";
import { type DataSource, writeDataSource } from "@/lib/data-source";
import { clearExpiresAt, recordSession } from "@/lib/session-clock";
import { type StorySession, sessionHandlers } from "@/mocks/handlers";
import "../src/app/globals.css";

declare module "@storybook/nextjs-vite" {
  interface Parameters {
    /** Who is signed in: the browser keeps the session hint and `/api/auth/me` answers. */
    session?: StorySession;
    /** The data-source toggle's choice (default GraphQL). */
    dataSource?: DataSource;
  }
}

/** Calls to the gateway that no handler of the story answered (each fails the story). */
const unanswered: string[] = [];

/** What no story answers: a network error for the component, a failure for the story. */
function refuse({ request }: { request: Request }) {
  unanswered.push(`${request.method} ${new URL(request.url).pathname}`);
  return HttpResponse.error();
}

/**
 * Mock Service Worker answers the API (`context.msw`; stories add handlers in `beforeEach`).
 * The worker's own handlers, kept between stories, refuse every other call to the gateway, so
 * nothing reaches a real server and a story that forgot a request fails.
 */
const mockApi = createPreviewAnnotations(async () => {
  const worker = setupWorker(http.all("/api/*", refuse), http.all("/graphql", refuse));
  await worker.start({ quiet: true, onUnhandledRequest: "bypass" });
  return worker;
});

function noUnansweredRequests() {
  const calls = unanswered.splice(0);
  if (calls.length > 0) throw new Error(`No handler of this story answers: ${calls.join(", ")}`);
}

/** The browser's state for the story: the session hint, the data source, `/api/auth/me`. */
function browserState({ parameters, msw }: StoryContext) {
  const session: StorySession = parameters.session ?? "anonymous";
  unanswered.length = 0;
  window.localStorage.clear();
  if (session !== "anonymous") recordSession(900, 1_209_600);
  writeDataSource(parameters.dataSource ?? "graphql");
  msw.use(...sessionHandlers(session));
  return () => {
    clearExpiresAt();
    window.localStorage.clear();
  };
}

const preview: Preview = {
  parameters: {
    layout: "padded",
    nextjs: { appDirectory: true },
    // Every axe violation fails the story's test.
    a11y: { test: "error" },
    viewport: {
      options: {
        narrow: {
          name: "Narrow phone (375 px)",
          styles: { width: "375px", height: "667px" },
          type: "mobile",
        },
      },
    },
  },
  beforeEach: [...[mockApi.beforeEach ?? []].flat(), browserState],
  afterEach: noUnansweredRequests,
  // The app's own providers (Apollo, TanStack Query, the session) around every story.
  decorators: [
    (Story) => (
      <Providers>
        <Story />
      </Providers>
    ),
  ],
};

export default preview;
