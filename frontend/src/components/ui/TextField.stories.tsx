import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent } from "storybook/test";
import { useForm } from "@/lib/form";
import { checkDisplayName, checkNewPassword } from "@/lib/validation";
import { narrowScreen } from "@/mocks/frames";
import { Button } from "./Button";
import { Form } from "./Form";
import { PasswordField, TextField } from "./TextField";

/** A text field and a password field bound to one `useForm`, validated on submit. */
function AccountFields({ name = "", password = "" }: { name?: string; password?: string }) {
  const form = useForm({
    initial: { name, password },
    validate: (values) => ({
      name: checkDisplayName(values.name) ?? undefined,
      password: checkNewPassword(values.password) ?? undefined,
    }),
    submit: async () => {},
  });
  return (
    <Form ref={form.formRef} onSubmit={form.onSubmit} className="stack" aria-label="Your account">
      <TextField
        form={form}
        name="name"
        label="Display name"
        hint="Shown on your profile."
        required
      />
      <PasswordField
        form={form}
        name="password"
        label="New password"
        hint="A passphrase works well."
        required
        autoComplete="new-password"
      />
      <div>
        <Button type="submit">Save</Button>
      </div>
    </Form>
  );
}

const meta = {
  title: "UI/TextField",
  component: AccountFields,
} satisfies Meta<typeof AccountFields>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Empty: Story = {};

export const Filled: Story = {
  args: { name: "Grace Hopper", password: "correct horse battery" },
  play: async ({ canvas }) => {
    const password = canvas.getByLabelText("New password");
    await expect(password).toHaveAttribute("type", "password");
    await expect(password).toHaveAttribute("autocomplete", "new-password");
  },
};

/** A submit with bad values: each field shows its error and focus goes to the first. */
export const ValidationErrors: Story = {
  args: { password: "short" },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Save" }));
    const name = canvas.getByRole("textbox", { name: "Display name" });
    await expect(name).toBeInvalid();
    await expect(name).toHaveFocus();
    await expect(canvas.getByLabelText("New password")).toHaveAccessibleDescription(
      expect.stringContaining("Use at least"),
    );
    // Typing into a field clears its error.
    await userEvent.type(name, "Grace Hopper");
    await expect(name).toBeValid();
  },
};

export const Narrow: Story = {
  args: { name: "Grace Hopper" },
  globals: narrowScreen,
};
