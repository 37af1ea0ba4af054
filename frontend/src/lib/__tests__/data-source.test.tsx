import { act, render, renderHook, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { hydrateRoot } from "react-dom/client";
import { DataSourceToggle } from "@/components/DataSourceToggle.client";
import {
  DATA_SOURCE_KEY,
  readDataSource,
  ServerDataSourceContext,
  useDataSource,
} from "../data-source";

/** What the browser does in this tab when another tab writes localStorage. */
function otherTabWrites(value: string | null) {
  if (value === null) window.localStorage.removeItem(DATA_SOURCE_KEY);
  else window.localStorage.setItem(DATA_SOURCE_KEY, value);
  window.dispatchEvent(
    new StorageEvent("storage", {
      key: DATA_SOURCE_KEY,
      newValue: value,
      storageArea: localStorage,
    }),
  );
}

/** What each render of {@link Probe} saw. */
const seen: string[] = [];
function Probe() {
  seen.push(useDataSource()[0]);
  return null;
}

const cookieSource = () => /(?:^|; )nova\.dataSource=([^;]*)/.exec(document.cookie)?.[1];

describe("useDataSource", () => {
  beforeEach(() => {
    // biome-ignore lint/suspicious/noDocumentCookie: jsdom's cookie jar, reset between tests
    document.cookie = "nova.dataSource=; Path=/; Max-Age=0";
  });

  it("mirrors the choice into a cookie for the server, and a choice stored before it", () => {
    window.localStorage.setItem(DATA_SOURCE_KEY, "rest");
    const { result } = renderHook(() => useDataSource());
    expect(cookieSource()).toBe("rest");
    act(() => result.current[1]("graphql"));
    expect(cookieSource()).toBe("graphql");
  });

  it("renders the server's source until hydration is over", () => {
    window.localStorage.setItem(DATA_SOURCE_KEY, "rest");
    seen.length = 0;
    const container = document.createElement("div");
    document.body.append(container);
    act(() => {
      hydrateRoot(
        container,
        <ServerDataSourceContext.Provider value="graphql">
          <Probe />
        </ServerDataSourceContext.Provider>,
      );
    });
    expect(seen[0]).toBe("graphql");
    expect(seen.at(-1)).toBe("rest");
    container.remove();
  });

  it("defaults to GraphQL", () => {
    const { result } = renderHook(() => useDataSource());
    expect(result.current[0]).toBe("graphql");
  });

  it("stores the choice in localStorage and updates every user in this tab", () => {
    const first = renderHook(() => useDataSource());
    const second = renderHook(() => useDataSource());
    act(() => first.result.current[1]("rest"));
    expect(window.localStorage.getItem(DATA_SOURCE_KEY)).toBe("rest");
    expect(first.result.current[0]).toBe("rest");
    expect(second.result.current[0]).toBe("rest");
  });

  it("follows a change made in another tab", () => {
    const { result } = renderHook(() => useDataSource());
    act(() => otherTabWrites("rest"));
    expect(result.current[0]).toBe("rest");
    act(() => otherTabWrites("graphql"));
    expect(result.current[0]).toBe("graphql");
  });

  it("falls back to GraphQL for a missing or unknown stored value", () => {
    window.localStorage.setItem(DATA_SOURCE_KEY, "soap");
    expect(readDataSource()).toBe("graphql");
    const { result } = renderHook(() => useDataSource());
    act(() => otherTabWrites("rest"));
    expect(result.current[0]).toBe("rest");
    act(() => otherTabWrites(null));
    expect(result.current[0]).toBe("graphql");
  });

  it("reads the stored choice on first render", () => {
    window.localStorage.setItem(DATA_SOURCE_KEY, "rest");
    const { result } = renderHook(() => useDataSource());
    expect(result.current[0]).toBe("rest");
  });
});

describe("DataSourceToggle", () => {
  it("is a labelled radio group operable from the keyboard", async () => {
    const user = userEvent.setup();
    render(<DataSourceToggle />);
    const group = screen.getByRole("group", { name: "Data source" });
    expect(group).toBeInTheDocument();
    const graphql = screen.getByRole("radio", { name: "GraphQL" });
    const rest = screen.getByRole("radio", { name: "REST" });
    expect(graphql).toBeChecked();
    await user.tab();
    expect(graphql).toHaveFocus();
    await user.keyboard("{ArrowRight}");
    expect(rest).toBeChecked();
    expect(window.localStorage.getItem(DATA_SOURCE_KEY)).toBe("rest");
    await user.click(graphql);
    expect(graphql).toBeChecked();
    expect(window.localStorage.getItem(DATA_SOURCE_KEY)).toBe("graphql");
  });

  it("shows a change made in another tab", () => {
    render(<DataSourceToggle />);
    act(() => otherTabWrites("rest"));
    expect(screen.getByRole("radio", { name: "REST" })).toBeChecked();
  });
});
