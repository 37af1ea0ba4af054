import { ButtonLink, Card } from "@/components/ui";

export default function LandingPage() {
  return (
    <div className="stack" style={{ gap: "2rem" }}>
      <section className="stack" aria-labelledby="landing-title">
        <h1 id="landing-title" style={{ fontSize: "clamp(2rem, 6vw, 3rem)", margin: 0 }}>
          Your Nova account
        </h1>
        <p style={{ fontSize: "1.15rem", maxWidth: "40rem", margin: 0 }} className="muted">
          Create an account, keep your profile up to date, see where you are signed in, and manage
          your password — all through the Nova gateway.
        </p>
        <div className="row">
          <ButtonLink href="/register">Create an account</ButtonLink>
          <ButtonLink href="/login" variant="secondary">
            Log in
          </ButtonLink>
        </div>
      </section>
      <div className="grid-2">
        <Card title="Profiles" titleLevel={2}>
          <p>
            A display name, a short bio, an avatar, your language and time zone. Change them any
            time; they are yours to delete.
          </p>
        </Card>
        <Card title="Security" titleLevel={2}>
          <p>
            Sessions live in secure, HTTP-only cookies. Add two-factor sign-in, sign in with a
            provider you already use, see recent activity, and log out everywhere at once when a
            device goes missing.
          </p>
        </Card>
        <Card title="GraphQL or REST" titleLevel={2}>
          <p>
            Every screen reads and writes through either API of the gateway. Switch with the{" "}
            <strong>Data source</strong> control at the top; every open tab follows.
          </p>
        </Card>
      </div>
    </div>
  );
}
