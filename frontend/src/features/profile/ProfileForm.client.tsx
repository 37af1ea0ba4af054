"use client";

import { useEffect, useId, useMemo, useRef } from "react";
import {
  Button,
  Field,
  Form,
  FormError,
  Input,
  Select,
  TextArea,
  TextField,
} from "@/components/ui";
import type { ProfileChanges, UserProfile } from "@/lib/account";
import { useForm } from "@/lib/form";
import { useUpdateProfile } from "@/lib/users";
import {
  BIO_MAX,
  checkAvatarUrl,
  checkBio,
  checkDisplayName,
  checkLocale,
  DISPLAY_NAME_MAX,
  timeZones,
} from "@/lib/validation";

const COMMON_LOCALES = [
  "en-US",
  "en-GB",
  "fr-FR",
  "de-DE",
  "es-ES",
  "it-IT",
  "pt-BR",
  "ja-JP",
  "zh-Hans-CN",
];

export interface ProfileValues extends Record<string, string> {
  displayName: string;
  bio: string;
  avatarUrl: string;
  locale: string;
  timezone: string;
}

export function profileValues(profile: UserProfile): ProfileValues {
  return {
    displayName: profile.displayName,
    bio: profile.bio ?? "",
    avatarUrl: profile.avatarUrl ?? "",
    locale: profile.locale ?? "",
    timezone: profile.timezone ?? "",
  };
}

/** Only what changed; a cleared optional field is sent as null. */
export function profileChanges(before: ProfileValues, after: ProfileValues): ProfileChanges {
  const changes: ProfileChanges = {};
  const name = after.displayName.trim();
  if (name !== before.displayName) changes.displayName = name;
  for (const key of ["bio", "avatarUrl", "locale", "timezone"] as const) {
    const value = after[key].trim();
    if (value !== before[key]) changes[key] = value === "" ? null : value;
  }
  return changes;
}

export function ProfileForm({
  profile,
  onSaved,
  onCancel,
}: {
  profile: UserProfile;
  onSaved: (profile: UserProfile) => void;
  onCancel: () => void;
}) {
  const update = useUpdateProfile();
  const initial = useMemo(() => profileValues(profile), [profile]);
  const zones = useMemo(() => {
    const all = timeZones();
    return (
      initial.timezone && !all.includes(initial.timezone) ? [initial.timezone, ...all] : all
    ).map((zone) => ({ value: zone, label: zone.replace(/_/g, " ") }));
  }, [initial.timezone]);
  const localeListId = useId();
  const firstField = useRef<HTMLInputElement>(null);

  useEffect(() => {
    firstField.current?.focus();
  }, []);

  const form = useForm<ProfileValues>({
    initial,
    validate: (values) => ({
      displayName: checkDisplayName(values.displayName) ?? undefined,
      bio: checkBio(values.bio) ?? undefined,
      avatarUrl: checkAvatarUrl(values.avatarUrl) ?? undefined,
      locale: checkLocale(values.locale) ?? undefined,
    }),
    submit: async (values) => {
      const changes = profileChanges(initial, values);
      onSaved(Object.keys(changes).length === 0 ? profile : await update(changes));
    },
  });
  const bioLength = [...form.values.bio].length;

  return (
    <Form ref={form.formRef} onSubmit={form.onSubmit} className="stack" aria-label="Edit profile">
      <FormError ref={form.errorRef} message={form.formError} title="Could not save the profile" />
      <TextField
        form={form}
        name="displayName"
        label="Display name"
        required
        ref={firstField}
        maxLength={DISPLAY_NAME_MAX}
      />
      <Field
        label="Bio"
        optional
        error={form.errors.bio}
        hint={`${bioLength} of ${BIO_MAX} characters`}
      >
        {(control) => (
          <TextArea
            {...control}
            name="bio"
            value={form.values.bio}
            onChange={(event) => form.setValue("bio", event.target.value)}
          />
        )}
      </Field>
      <TextField
        form={form}
        name="avatarUrl"
        label="Avatar URL"
        optional
        hint="An https:// address of an image."
        type="url"
        inputMode="url"
        placeholder="https://"
      />
      <div className="grid-2">
        <Field
          label="Language"
          optional
          error={form.errors.locale}
          hint="A language tag, such as en-US."
        >
          {(control) => (
            <>
              <Input
                {...control}
                name="locale"
                list={localeListId}
                autoComplete="off"
                value={form.values.locale}
                onChange={(event) => form.setValue("locale", event.target.value)}
              />
              <datalist id={localeListId}>
                {COMMON_LOCALES.map((locale) => (
                  <option key={locale} value={locale} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Time zone" optional error={form.errors.timezone}>
          {(control) => (
            <Select
              {...control}
              name="timezone"
              options={zones}
              placeholder="Not set"
              value={form.values.timezone}
              onChange={(event) => form.setValue("timezone", event.target.value)}
            />
          )}
        </Field>
      </div>
      <div className="row">
        <Button type="submit" busy={form.submitting}>
          Save profile
        </Button>
        <Button variant="secondary" onClick={onCancel} disabled={form.submitting}>
          Cancel
        </Button>
      </div>
    </Form>
  );
}
