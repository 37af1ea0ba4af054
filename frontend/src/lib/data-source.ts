"use client";

/**
 * Which API the data screens use: GraphQL (default) or REST. Kept in localStorage and followed
 * by every open tab through the `storage` event; mirrored into a cookie so the server renders
 * a page's first view over the same API (`data-source-cookie.ts`).
 */

import { createContext, useCallback, useContext, useSyncExternalStore } from "react";
import {
  DATA_SOURCE_COOKIE,
  type DataSource,
  DEFAULT_DATA_SOURCE,
  dataSourceCookie,
  dataSourceInCookies,
  isDataSource,
} from "./data-source-cookie";

export type { DataSource } from "./data-source-cookie";
export { DATA_SOURCES, DEFAULT_DATA_SOURCE, isDataSource } from "./data-source-cookie";
export const DATA_SOURCE_KEY = DATA_SOURCE_COOKIE;
/** Same-tab notification (the `storage` event only reaches the other tabs). */
const LOCAL_EVENT = "nova:data-source";

/**
 * The source the server rendered this page with (from the cookie): what the page shows until
 * React has taken the server's HTML over, so hydration renders exactly what the server did.
 */
export const ServerDataSourceContext = createContext<DataSource>(DEFAULT_DATA_SOURCE);

/** Tell the server about the choice (every tab shares the cookie, as they share storage). */
function mirrorToCookie(source: DataSource): void {
  try {
    if (dataSourceInCookies(document.cookie) === source) return;
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser
    document.cookie = dataSourceCookie(source, window.location.protocol === "https:");
  } catch {
    // Cookies refused: the server renders with the default and the page switches on load.
  }
}

export function readDataSource(): DataSource {
  try {
    const stored = window.localStorage.getItem(DATA_SOURCE_KEY);
    return isDataSource(stored) ? stored : DEFAULT_DATA_SOURCE;
  } catch {
    return DEFAULT_DATA_SOURCE;
  }
}

export function writeDataSource(source: DataSource): void {
  try {
    window.localStorage.setItem(DATA_SOURCE_KEY, source);
  } catch {
    // Storage refused (private mode quota): the choice lasts for this page only.
  }
  mirrorToCookie(source);
  window.dispatchEvent(new CustomEvent(LOCAL_EVENT, { detail: source }));
}

function subscribe(onChange: () => void): () => void {
  // A choice made before the cookie existed (or a cookie cleared since) is mirrored once here.
  mirrorToCookie(readDataSource());
  const onStorage = (event: StorageEvent) => {
    if (event.key === DATA_SOURCE_KEY || event.key === null) onChange();
  };
  window.addEventListener("storage", onStorage);
  window.addEventListener(LOCAL_EVENT, onChange);
  return () => {
    window.removeEventListener("storage", onStorage);
    window.removeEventListener(LOCAL_EVENT, onChange);
  };
}

export function useDataSource(): [DataSource, (source: DataSource) => void] {
  const rendered = useContext(ServerDataSourceContext);
  const source = useSyncExternalStore(subscribe, readDataSource, () => rendered);
  const setSource = useCallback((next: DataSource) => writeDataSource(next), []);
  return [source, setSource];
}
