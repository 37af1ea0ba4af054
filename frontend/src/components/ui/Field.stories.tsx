import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect } from "storybook/test";
import { Field, FormError } from "./Field";
import { Input } from "./Input";

const meta = {
  title: "UI/Field",
  component: Field,
  args: {
    label: "Display name",
    children: (control) => <Input {...control} name="displayName" defaultValue="Grace Hopper" />,
  },
} satisfies Meta<typeof Field>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Filled: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByLabelText("Display name")).toHaveValue("Grace Hopper");
  },
};

export const WithHint: Story = {
  args: { label: "Avatar URL", optional: true, hint: "An https:// address of an image." },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("textbox", { name: /Avatar URL/ })).toHaveAccessibleDescription(
      "An https:// address of an image.",
    );
  },
};

/** The error marks the control invalid and describes it, before the hint. */
export const WithError: Story = {
  args: {
    required: true,
    hint: "Shown on your profile.",
    error: "Enter a display name.",
    children: (control) => <Input {...control} name="displayName" defaultValue="" />,
  },
  play: async ({ canvas }) => {
    const input = canvas.getByRole("textbox", { name: "Display name" });
    await expect(input).toBeInvalid();
    await expect(input).toBeRequired();
    await expect(input).toHaveAccessibleDescription("Enter a display name. Shown on your profile.");
  },
};

/** The form-level error region: empty (but present, for the live region) until a message. */
export const FormLevelError: StoryObj<typeof FormError> = {
  render: () => <FormError message="Wrong e-mail address or password." title="Could not log in" />,
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("alert")).toHaveTextContent("Could not log in");
  },
};

export const FormLevelErrorEmpty: StoryObj<typeof FormError> = {
  render: () => <FormError message={null} />,
  play: async ({ canvas }) => {
    await expect(canvas.queryByRole("alert")).toBeNull();
  },
};
