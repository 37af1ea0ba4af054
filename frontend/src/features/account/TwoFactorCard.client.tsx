"use client";

import { useEffect, useRef, useState } from "react";
import { QrCode } from "@/components/QrCode";
import {
  Alert,
  Button,
  buttonClass,
  Card,
  Form,
  FormError,
  PasswordField,
  TextField,
} from "@/components/ui";
import { blameField } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { type Enrolment, type SecurityOverview, useSecurityActions } from "@/lib/security";
import { checkRequired } from "@/lib/validation";

/** The secret in groups of four, as authenticator apps show it. */
export function groupSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, "$1 ");
}

/** The text file of the recovery codes offered for download. */
export function recoveryCodesText(codes: readonly string[], email: string | null): string {
  const who = email ? ` for ${email}` : "";
  return [
    `Nova recovery codes${who}`,
    "Each code signs in once in place of an authenticator code. Keep them somewhere safe.",
    "",
    ...codes,
    "",
  ].join("\n");
}

type Step =
  | { kind: "idle" }
  | { kind: "enrolling"; enrolment: Enrolment }
  | { kind: "codes"; codes: string[] };

/**
 * Two-factor sign-in: turn it on (password → QR code and secret, shown once → a first code →
 * the recovery codes, shown once) and off (a current code or the password).
 */
export function TwoFactorCard({
  overview,
  email,
}: {
  overview: SecurityOverview;
  email: string | null;
}) {
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const [turnedOff, setTurnedOff] = useState(false);
  if (step.kind === "enrolling") {
    return (
      <Card title="Two-factor sign-in">
        <ConfirmEnrolment
          enrolment={step.enrolment}
          onConfirmed={(codes) => setStep({ kind: "codes", codes })}
          onCancel={() => setStep({ kind: "idle" })}
        />
      </Card>
    );
  }
  if (step.kind === "codes") {
    return (
      <Card title="Two-factor sign-in">
        <RecoveryCodes codes={step.codes} email={email} onDone={() => setStep({ kind: "idle" })} />
      </Card>
    );
  }
  return (
    <Card title="Two-factor sign-in">
      {overview.twoFactorEnabled ? (
        <>
          <p>
            <strong>On.</strong> Signing in asks for a code from your authenticator app after the
            password or a provider.
            {overview.recoveryCodesLeft !== null
              ? ` ${overview.recoveryCodesLeft} of 10 recovery codes left.`
              : null}
          </p>
          <DisableTwoFactor hasPassword={overview.hasPassword} onDone={() => setTurnedOff(true)} />
        </>
      ) : (
        <>
          {turnedOff ? <Alert tone="success">Two-factor sign-in is off.</Alert> : null}
          <p>
            <strong>Off.</strong> Protect your account with a code from an authenticator app (such
            as a password manager, Google Authenticator or Aegis) each time you sign in.
          </p>
          {overview.hasPassword ? (
            <StartEnrolment
              onStarted={(enrolment) => {
                setTurnedOff(false);
                setStep({ kind: "enrolling", enrolment });
              }}
            />
          ) : (
            <Alert tone="info">
              Your account signs in through a provider only. Set a password first: two-factor
              sign-in starts with it.
            </Alert>
          )}
        </>
      )}
    </Card>
  );
}

function StartEnrolment({ onStarted }: { onStarted: (enrolment: Enrolment) => void }) {
  const actions = useSecurityActions();
  const form = useForm({
    initial: { password: "" },
    validate: (values) => ({
      password: checkRequired(values.password, "Enter your password.") ?? undefined,
    }),
    submit: async (values) => {
      try {
        onStarted(await actions.enrol(values.password));
      } catch (error) {
        throw blameField(error, { invalid_password: "password" });
      }
    },
  });
  return (
    <Form
      ref={form.formRef}
      onSubmit={form.onSubmit}
      className="stack"
      aria-label="Turn on two-factor sign-in"
    >
      <FormError ref={form.errorRef} message={form.formError} title="Could not start" />
      <PasswordField
        form={form}
        name="password"
        label="Your password"
        required
        autoComplete="current-password"
      />
      <div>
        <Button type="submit" busy={form.submitting}>
          Turn on two-factor sign-in
        </Button>
      </div>
    </Form>
  );
}

function ConfirmEnrolment({
  enrolment,
  onConfirmed,
  onCancel,
}: {
  enrolment: Enrolment;
  onConfirmed: (codes: string[]) => void;
  onCancel: () => void;
}) {
  const actions = useSecurityActions();
  const form = useForm({
    initial: { code: "" },
    validate: (values) => ({
      code: checkRequired(values.code, "Enter the 6-digit code.") ?? undefined,
    }),
    submit: async (values) => {
      try {
        onConfirmed(await actions.confirm(values.code.replace(/\s+/g, "")));
      } catch (error) {
        throw blameField(error, { invalid_code: "code" });
      }
    },
  });
  return (
    <div className="stack">
      <p>
        Scan this QR code with your authenticator app, or type the key below into it. It is shown
        only now.
      </p>
      <div className="row" style={{ alignItems: "flex-start" }}>
        <QrCode value={enrolment.otpauthUri} label="QR code of your two-factor key" />
        <dl className="details" style={{ flex: "1 1 14rem", alignContent: "start" }}>
          <dt>Key for manual entry</dt>
          <dd>
            <code>{groupSecret(enrolment.secret)}</code>
          </dd>
          <dt>Kind</dt>
          <dd>Time-based, 6 digits, every 30 seconds</dd>
        </dl>
      </div>
      <Form
        ref={form.formRef}
        onSubmit={form.onSubmit}
        className="stack"
        aria-label="Confirm two-factor sign-in"
      >
        <FormError ref={form.errorRef} message={form.formError} title="Could not turn it on" />
        <TextField
          form={form}
          name="code"
          label="Code from the app"
          hint="Enter the code the app shows now to prove it is set up."
          required
          autoComplete="one-time-code"
          inputMode="numeric"
        />
        <div className="row">
          <Button type="submit" busy={form.submitting}>
            Confirm
          </Button>
          <Button type="button" variant="secondary" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </Form>
    </div>
  );
}

function RecoveryCodes({
  codes,
  email,
  onDone,
}: {
  codes: string[];
  email: string | null;
  onDone: () => void;
}) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const [href, setHref] = useState<string | null>(null);
  const heading = useRef<HTMLParagraphElement>(null);
  const text = recoveryCodesText(codes, email);
  useEffect(() => {
    heading.current?.focus();
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [text]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  }

  return (
    <div className="stack">
      <Alert tone="success">Two-factor sign-in is on.</Alert>
      <p ref={heading} tabIndex={-1}>
        <strong>Save your recovery codes.</strong> Each one signs in once if you lose your
        authenticator app. They are shown only now.
      </p>
      <ol aria-label="Recovery codes" className="codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div className="row">
        <Button type="button" variant="secondary" onClick={copy}>
          Copy the codes
        </Button>
        {href ? (
          <a className={buttonClass("secondary")} href={href} download="nova-recovery-codes.txt">
            Download as text
          </a>
        ) : null}
        <Button type="button" onClick={onDone}>
          I saved them
        </Button>
      </div>
      <div aria-live="polite">
        {copied === "yes" ? <p>Copied.</p> : null}
        {copied === "failed" ? <p>Copying is not allowed here: download them instead.</p> : null}
      </div>
    </div>
  );
}

function DisableTwoFactor({ hasPassword, onDone }: { hasPassword: boolean; onDone: () => void }) {
  const actions = useSecurityActions();
  const [withPassword, setWithPassword] = useState(false);
  const form = useForm({
    initial: { proof: "" },
    validate: (values) => ({
      proof:
        checkRequired(
          values.proof,
          withPassword ? "Enter your password." : "Enter the 6-digit code.",
        ) ?? undefined,
    }),
    submit: async (values) => {
      try {
        await actions.disable(
          withPassword ? { password: values.proof } : { code: values.proof.replace(/\s+/g, "") },
        );
      } catch (error) {
        throw blameField(error, { invalid_code: "proof", invalid_password: "proof" });
      }
      onDone();
    },
  });
  return (
    <Form
      ref={form.formRef}
      onSubmit={form.onSubmit}
      className="stack"
      aria-label="Turn off two-factor sign-in"
    >
      <FormError ref={form.errorRef} message={form.formError} title="Could not turn it off" />
      {withPassword ? (
        <PasswordField
          form={form}
          name="proof"
          label="Your password"
          required
          autoComplete="current-password"
        />
      ) : (
        <TextField
          form={form}
          name="proof"
          label="Current code from the app"
          required
          autoComplete="one-time-code"
          inputMode="numeric"
        />
      )}
      <div className="row">
        <Button type="submit" variant="danger" busy={form.submitting}>
          Turn off two-factor sign-in
        </Button>
        {hasPassword ? (
          <Button
            type="button"
            variant="secondary"
            onClick={() => {
              form.reset({ proof: "" });
              setWithPassword(!withPassword);
            }}
          >
            {withPassword ? "Use a code instead" : "Use your password instead"}
          </Button>
        ) : null}
      </div>
    </Form>
  );
}
