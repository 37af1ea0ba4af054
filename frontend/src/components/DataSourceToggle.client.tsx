"use client";

import { type DataSource, useDataSource } from "@/lib/data-source";
import { useHydrated } from "@/lib/hydrated";
import styles from "./site.module.css";

const LABELS: Record<DataSource, string> = { graphql: "GraphQL", rest: "REST" };

/** Which API the data screens call; the choice follows every tab of this browser. */
export function DataSourceToggle() {
  const [source, setSource] = useDataSource();
  // A choice clicked before hydration would be undone by it: wait for React.
  const hydrated = useHydrated();
  return (
    <fieldset className={styles.toggle} disabled={!hydrated}>
      <legend className={styles.toggleLegend}>Data source</legend>
      {(Object.keys(LABELS) as DataSource[]).map((option) => (
        <label key={option} className={styles.toggleOption} data-checked={source === option}>
          <input
            type="radio"
            name="nova-data-source"
            value={option}
            checked={source === option}
            onChange={() => setSource(option)}
          />
          {LABELS[option]}
        </label>
      ))}
    </fieldset>
  );
}
