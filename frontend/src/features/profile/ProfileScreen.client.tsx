"use client";

import { useEffect, useRef, useState } from "react";
import { LoadError } from "@/components/LoadError";
import { Alert, Button, Card, Spinner } from "@/components/ui";
import type { UserProfile } from "@/lib/account";
import { useSession } from "@/lib/session";
import { useMyProfile } from "@/lib/users";
import { VerificationNotice, VerifiedBadge } from "./EmailVerification.client";
import { ProfileForm } from "./ProfileForm.client";

function formatDate(value: string | null, timeZone?: string | null): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  try {
    return date.toLocaleString(undefined, {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: timeZone ?? undefined,
    });
  } catch {
    return date.toLocaleString();
  }
}

function ProfileDetails({ profile }: { profile: UserProfile }) {
  return (
    <div className="stack">
      <div className="row" style={{ gap: "1rem" }}>
        {profile.avatarUrl ? (
          // biome-ignore lint/performance/noImgElement: a user-supplied URL on any host
          <img
            src={profile.avatarUrl}
            alt=""
            width={72}
            height={72}
            referrerPolicy="no-referrer"
            style={{ borderRadius: "50%", objectFit: "cover" }}
          />
        ) : null}
        <div>
          <p style={{ margin: 0, fontSize: "1.4rem", fontWeight: 700 }} data-testid="display-name">
            {profile.displayName}
          </p>
          {profile.email ? (
            <p className="muted" style={{ margin: 0 }}>
              {profile.email}{" "}
              {profile.emailVerified === null ? null : (
                <VerifiedBadge verified={profile.emailVerified} />
              )}
            </p>
          ) : null}
        </div>
      </div>
      <dl className="details">
        <dt>Bio</dt>
        <dd data-testid="bio">{profile.bio || <span className="muted">Not set</span>}</dd>
        <dt>Avatar URL</dt>
        <dd>{profile.avatarUrl || <span className="muted">Not set</span>}</dd>
        <dt>Language</dt>
        <dd data-testid="locale">{profile.locale || <span className="muted">Not set</span>}</dd>
        <dt>Time zone</dt>
        <dd data-testid="timezone">{profile.timezone || <span className="muted">Not set</span>}</dd>
        <dt>Roles</dt>
        <dd>{profile.roles?.length ? profile.roles.join(", ") : "user"}</dd>
        <dt>Member since</dt>
        <dd>{formatDate(profile.createdAt, profile.timezone)}</dd>
        <dt>Last login</dt>
        <dd>{formatDate(profile.lastLoginAt, profile.timezone)}</dd>
      </dl>
    </div>
  );
}

export function ProfileScreen({ welcome = false }: { welcome?: boolean }) {
  const { data: profile, loading, error, reload, source } = useMyProfile();
  const session = useSession();
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const savedRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (saved) savedRef.current?.focus();
  }, [saved]);

  if (loading && !profile) return <Spinner label="Loading your profile…" />;
  if (error && !profile) {
    return <LoadError title="Your profile could not be loaded" error={error} onRetry={reload} />;
  }
  if (!profile) return <Spinner label="Loading your profile…" />;

  return (
    <div className="stack">
      {welcome && !saved ? (
        <Alert tone="success" title={`Welcome, ${profile.displayName}!`}>
          Your account is ready. Add a bio or an avatar below.
        </Alert>
      ) : null}
      <div ref={savedRef} tabIndex={-1}>
        {saved ? <Alert tone="success">Your profile was saved.</Alert> : null}
      </div>
      {profile.emailVerified === false ? (
        <VerificationNotice
          email={profile.email}
          onVerified={() => {
            reload();
            void session.reload();
          }}
        />
      ) : null}
      {editing ? (
        <Card title="Edit profile">
          <ProfileForm
            profile={profile}
            onSaved={() => {
              setEditing(false);
              setSaved(true);
            }}
            onCancel={() => {
              setEditing(false);
              requestAnimationFrame(() => editButton.current?.focus());
            }}
          />
        </Card>
      ) : (
        <Card>
          <div className="stack">
            <ProfileDetails profile={profile} />
            <div className="row">
              <Button
                ref={editButton}
                onClick={() => {
                  setSaved(false);
                  setEditing(true);
                }}
              >
                Edit profile
              </Button>
              <span className="muted" style={{ fontSize: "0.875rem" }}>
                Loaded through {source === "graphql" ? "GraphQL" : "REST"}
              </span>
            </div>
          </div>
        </Card>
      )}
    </div>
  );
}
