import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect } from "storybook/test";
import { narrowScreen } from "@/mocks/frames";
import { type Column, Table } from "./Table";

interface Person {
  id: string;
  name: string;
  email: string;
  state: string;
}

const COLUMNS: Column<Person>[] = [
  { key: "name", header: "Name", cell: (row) => row.name },
  { key: "email", header: "E-mail", cell: (row) => row.email },
  { key: "state", header: "State", cell: (row) => row.state },
];

const PEOPLE: Person[] = [
  { id: "1", name: "Ada Lovelace", email: "ada@example.com", state: "Active" },
  { id: "2", name: "Alan Turing", email: "alan@example.com", state: "Active" },
  { id: "3", name: "Barbara Liskov", email: "barbara@example.com", state: "Deleted 20 Nov 2026" },
];

const meta = {
  title: "UI/Table",
  component: Table<Person>,
  args: { caption: "Users, page 1", columns: COLUMNS, rows: PEOPLE, rowKey: (row) => row.id },
} satisfies Meta<typeof Table<Person>>;

export default meta;
type Story = StoryObj<typeof meta>;

/** The first column heads each row; the caption names the table. */
export const Filled: Story = {
  play: async ({ canvas }) => {
    const table = canvas.getByRole("table", { name: "Users, page 1" });
    await expect(table).toBeVisible();
    await expect(canvas.getByRole("rowheader", { name: "Alan Turing" })).toBeVisible();
  },
};

export const Empty: Story = { args: { rows: [] } };

/** The caption stays the table's name for screen readers, off screen. */
export const HiddenCaption: Story = {
  args: { captionHidden: true },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("table", { name: "Users, page 1" })).toBeInTheDocument();
  },
};

/** Wider than the screen: the table scrolls inside its frame, the page does not. */
export const Narrow: Story = {
  globals: narrowScreen,
  play: async ({ canvasElement }) => {
    const page = canvasElement.ownerDocument.documentElement;
    await expect(page.scrollWidth).toBeLessThanOrEqual(page.clientWidth);
  },
};
