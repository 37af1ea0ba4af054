export interface Bytes {
  raw: number;
  gzip: number;
}

export interface RouteSize {
  route: string;
  own: Bytes;
  first: Bytes;
}

export interface BudgetRow {
  route: string;
  /** First load, gzip kB; null for a budget whose route the build does not have. */
  size: number | null;
  budget: number | null;
  status: "within budget" | "over budget" | "no budget" | "no such route";
}

export const BUDGETS_FILE: string;
export const HEADROOM: number;
export function measureRoutes(next: string): { shared: Bytes; routes: RouteSize[] };
export function checkBudgets(
  routes: readonly RouteSize[],
  budgets: Record<string, number>,
): { ok: boolean; rows: BudgetRow[] };
export function formatCheck(result: { ok: boolean; rows: BudgetRow[] }): string;
export function budgetsFor(routes: readonly RouteSize[], headroom?: number): Record<string, number>;
