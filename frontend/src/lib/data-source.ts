"use client";

/**
 * Which API the data screens use: GraphQL (default) or REST. Kept in localStorage and followed
 * by every open tab through the `storage` event.
 */

import { useCallback, useSyncExternalStore } from "react";

export type DataSource = "graphql" | "rest";
export const DATA_SOURCES: readonly DataSource[] = ["graphql", "rest"];
export const DATA_SOURCE_KEY = "nova.dataSource";
export const DEFAULT_DATA_SOURCE: DataSource = "graphql";
/** Same-tab notification (the `storage` event only reaches the other tabs). */
const LOCAL_EVENT = "nova:data-source";

export function isDataSource(value: unknown): value is DataSource {
  return value === "graphql" || value === "rest";
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
  window.dispatchEvent(new CustomEvent(LOCAL_EVENT, { detail: source }));
}

function subscribe(onChange: () => void): () => void {
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
  const source = useSyncExternalStore(subscribe, readDataSource, () => DEFAULT_DATA_SOURCE);
  const setSource = useCallback((next: DataSource) => writeDataSource(next), []);
  return [source, setSource];
}
