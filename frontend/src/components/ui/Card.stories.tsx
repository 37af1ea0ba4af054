import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { narrowScreen } from "@/mocks/frames";
import { Button } from "./Button";
import { Card } from "./Card";

const meta = {
  title: "UI/Card",
  component: Card,
  args: {
    title: "This device",
    children: <p>End the session of this browser. Your other devices stay signed in.</p>,
  },
} satisfies Meta<typeof Card>;

export default meta;
type Story = StoryObj<typeof meta>;

export const WithTitle: Story = {};

export const Untitled: Story = {
  args: { title: undefined, children: <p>A card without a heading groups related content.</p> },
};

/** A card inside a page section: its title is an `h3`. */
export const SubsectionTitle: Story = {
  args: {
    titleLevel: 3,
    children: (
      <>
        <p>End every session of your account, on every device.</p>
        <Button variant="danger">Log out everywhere</Button>
      </>
    ),
  },
  render: (args) => (
    <section>
      <h2>Sessions</h2>
      <Card {...args} />
    </section>
  ),
};

export const Narrow: Story = { globals: narrowScreen };
