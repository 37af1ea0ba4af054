import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent } from "storybook/test";
import { Button, Form } from "@/components/ui";
import { useForm } from "@/lib/form";
import { checkNewPassword, checkRepeated } from "@/lib/validation";
import { narrowScreen } from "@/mocks/frames";
import { NewPasswordFields } from "./NewPasswordFields";

/** The two fields in a form of their own, checked on submit as the account forms check them. */
function ChoosePassword({ label }: { label?: string }) {
  const form = useForm({
    initial: { password: "", confirm: "" },
    validate: (values) => ({
      password: checkNewPassword(values.password) ?? undefined,
      confirm: checkRepeated(values.confirm, values.password) ?? undefined,
    }),
    submit: async () => {},
  });
  return (
    <Form
      ref={form.formRef}
      onSubmit={form.onSubmit}
      className="stack"
      aria-label="Choose a password"
    >
      <NewPasswordFields form={form} name="password" repeat="confirm" label={label} />
      <div>
        <Button type="submit">Save</Button>
      </div>
    </Form>
  );
}

const meta = {
  title: "Features/Auth/NewPasswordFields",
  component: ChoosePassword,
} satisfies Meta<typeof ChoosePassword>;

export default meta;
type Story = StoryObj<typeof meta>;

/** A password replacing one (reset, change): both inputs are new passwords for the manager. */
export const NewPassword: Story = {
  play: async ({ canvas }) => {
    const password = canvas.getByLabelText("New password");
    await expect(password).toHaveAttribute("type", "password");
    await expect(password).toHaveAttribute("autocomplete", "new-password");
    await expect(password).toHaveAccessibleDescription(expect.stringContaining("characters"));
    await expect(canvas.getByLabelText("Repeat the new password")).toHaveAttribute(
      "autocomplete",
      "new-password",
    );
  },
};

/** Registration's wording. */
export const FirstPassword: Story = {
  args: { label: "Password" },
  play: async ({ canvas }) => {
    await expect(canvas.getByLabelText("Password")).toBeRequired();
    await expect(canvas.getByLabelText("Repeat the password")).toBeRequired();
  },
};

/** A repetition that differs: the second field says so, the first is fine. */
export const Mismatch: Story = {
  play: async ({ canvas }) => {
    await userEvent.type(canvas.getByLabelText("New password"), "correct horse battery");
    await userEvent.type(canvas.getByLabelText("Repeat the new password"), "correct horse");
    await userEvent.click(canvas.getByRole("button", { name: "Save" }));
    const repeat = canvas.getByLabelText("Repeat the new password");
    await expect(repeat).toBeInvalid();
    await expect(repeat).toHaveAccessibleDescription("The passwords do not match.");
    await expect(canvas.getByLabelText("New password")).toBeValid();
  },
};

export const Narrow: Story = { globals: narrowScreen };
