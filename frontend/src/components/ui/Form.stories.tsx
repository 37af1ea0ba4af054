import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, fn, userEvent } from "storybook/test";
import { narrowScreen } from "@/mocks/frames";
import { Button } from "./Button";
import { Form } from "./Form";
import { Input } from "./Input";

const meta = {
  title: "UI/Form",
  component: Form,
  args: {
    "aria-label": "Search users",
    className: "row",
    onSubmit: fn((event) => event.preventDefault()),
    children: (
      <>
        <Input aria-label="Search by name or user id" type="search" name="search" />
        <Button type="submit" variant="secondary">
          Search
        </Button>
      </>
    ),
  },
} satisfies Meta<typeof Form>;

export default meta;
type Story = StoryObj<typeof meta>;

/** Hydrated: the controls are enabled and a submit reaches the page's handler. */
export const Submits: Story = {
  play: async ({ args, canvas }) => {
    const form = canvas.getByRole("form", { name: "Search users" });
    await expect(form).toHaveAttribute("method", "post");
    await expect(form).toHaveAttribute("novalidate");
    await userEvent.type(canvas.getByRole("searchbox"), "grace{enter}");
    await expect(args.onSubmit).toHaveBeenCalledOnce();
  },
};

export const Narrow: Story = { globals: narrowScreen };
