import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach, vi } from "vitest";

afterEach(() => {
  if (typeof window !== "undefined") cleanup();
  if (typeof window !== "undefined") window.localStorage.clear();
});

vi.mock("next/navigation", async () => {
  const { router } = await import("./render");
  return {
    useRouter: () => router,
    usePathname: () => window.location.pathname,
    useSearchParams: () => new URLSearchParams(window.location.search),
  };
});

afterEach(() => {
  vi.clearAllMocks();
});
