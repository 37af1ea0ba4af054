/**
 * The mails the dev stack's SMTP sink received, read from its Maildir (one file per message in
 * `new/` or `cur/`) and parsed with Node's own means: headers (folded lines, RFC 2047 encoded
 * words), multipart bodies, quoted-printable and base64 transfer encodings, the part's charset
 * (docs/adr/0018: why not a MIME library).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { stackState } from "./stack";

export interface Mail {
  /** The file's name in the Maildir: unique, stable. */
  id: string;
  receivedAt: number;
  headers: Map<string, string>;
  /** Envelope and header recipients, lower-cased. */
  recipients: string[];
  subject: string;
  /** Every text/plain part, decoded. */
  text: string;
}

const DEFAULT_MAILDIR = resolve(import.meta.dirname, "..", "..", ".nova", "e2e", "mail");

export function maildir(): string {
  try {
    return stackState().maildir ?? DEFAULT_MAILDIR;
  } catch {
    return DEFAULT_MAILDIR;
  }
}

/** Header block and body of a message or a part (CRLF or LF line ends). */
function split(raw: Buffer): { head: string; body: Buffer } {
  const text = raw.toString("latin1");
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text, body: Buffer.alloc(0) };
  return {
    head: text.slice(0, match.index),
    body: raw.subarray(match.index + match[0].length),
  };
}

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset || "us-ascii").decode(bytes);
  } catch {
    return bytes.toString("latin1"); // a charset Node does not know: the bytes as they are
  }
}

function quotedPrintable(body: string, header = false): Buffer {
  const soft = header ? body.replace(/_/g, " ") : body.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let index = 0; index < soft.length; index += 1) {
    const hex = soft.slice(index + 1, index + 3);
    if (soft[index] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(soft.charCodeAt(index) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047: `=?utf-8?q?…?=` and `=?utf-8?b?…?=`; blanks between two encoded words go. */
function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?*]+)(?:\*[^?]*)?\?([QqBb])\?([^?]*)\?=/g, (_all, charset, kind, text) =>
      decodeBytes(
        kind.toUpperCase() === "B" ? Buffer.from(text, "base64") : quotedPrintable(text, true),
        charset,
      ),
    );
}

function parseHeaders(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = decodeWords(line.slice(colon + 1).trim());
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return headers;
}

/** `text/plain; charset="utf-8"` → the type and its parameters. */
function contentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const [type = "text/plain", ...rest] = (value ?? "text/plain").split(";");
  const params = new Map<string, string>();
  for (const param of rest) {
    const equals = param.indexOf("=");
    if (equals < 0) continue;
    const key = param.slice(0, equals).trim().toLowerCase();
    params.set(
      key,
      param
        .slice(equals + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1"),
    );
  }
  return { type: type.trim().toLowerCase(), params };
}

/** The decoded text/plain parts of a message or part, in order. */
function textParts(raw: Buffer): string[] {
  const { head, body } = split(raw);
  const headers = parseHeaders(head);
  const { type, params } = contentType(headers.get("content-type"));
  if (type.startsWith("multipart/")) {
    const boundary = params.get("boundary");
    if (!boundary) return [];
    const delimiter = `--${boundary}`;
    const parts = body.toString("latin1").split(new RegExp(`\\r?\\n?${escapeRegExp(delimiter)}`));
    // parts[0] is the preamble; the one after the closing delimiter starts with "--".
    return parts
      .slice(1)
      .filter((part) => !part.startsWith("--"))
      .flatMap((part) => textParts(Buffer.from(part.replace(/^[ \t]*\r?\n/, ""), "latin1")));
  }
  if (type !== "text/plain") return [];
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  const bytes =
    encoding === "base64"
      ? Buffer.from(body.toString("latin1").replace(/\s+/g, ""), "base64")
      : encoding === "quoted-printable"
        ? quotedPrintable(body.toString("latin1"))
        : body;
  return [decodeBytes(bytes, params.get("charset") ?? "us-ascii")];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const ADDRESS = /[^\s<>,;"]+@[^\s<>,;"]+/g;

export function parseMail(id: string, raw: Buffer, receivedAt = 0): Mail {
  const headers = parseHeaders(split(raw).head);
  const recipients = ["x-nova-sink-rcpt-to", "to", "cc"]
    .flatMap((name) => headers.get(name)?.match(ADDRESS) ?? [])
    .map((address) => address.toLowerCase());
  return {
    id,
    receivedAt,
    headers,
    recipients: [...new Set(recipients)],
    subject: headers.get("subject") ?? "",
    text: textParts(raw).join("\n"),
  };
}

/** Every mail of the Maildir, oldest first. */
export function readMails(directory = maildir()): Mail[] {
  const mails: Mail[] = [];
  for (const folder of ["new", "cur"]) {
    let names: string[];
    try {
      names = readdirSync(join(directory, folder));
    } catch {
      continue; // the sink has not received anything yet
    }
    for (const name of names) {
      const path = join(directory, folder, name);
      try {
        mails.push(parseMail(name, readFileSync(path), statSync(path).mtimeMs));
      } catch {
        // moved between listing and reading (new/ → cur/): the next look finds it
      }
    }
  }
  return mails.sort((a, b) => a.receivedAt - b.receivedAt || a.id.localeCompare(b.id));
}

/** The ids of the mails there now: a later `waitForMail` can skip them. */
export function mailIds(): Set<string> {
  return new Set(readMails().map((mail) => mail.id));
}

/**
 * The newest mail to `address` whose subject matches, waiting (bounded) for it to arrive;
 * mails whose id is in `except` do not count.
 */
export async function waitForMail(
  address: string,
  subject: RegExp,
  {
    except = new Set<string>(),
    timeoutMs = 30_000,
  }: { except?: Set<string>; timeoutMs?: number } = {},
): Promise<Mail> {
  const wanted = address.toLowerCase();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = readMails()
      .filter((mail) => !except.has(mail.id))
      .filter((mail) => mail.recipients.includes(wanted) && subject.test(mail.subject))
      .at(-1);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${address} with a subject like ${subject} in ${timeoutMs} ms`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** The link to `page` of this frontend in the mail, e.g. `/verify-email?token=…`. */
export function linkIn(mail: Mail, page: string): URL {
  for (const candidate of mail.text.match(/https?:\/\/[^\s<>"]+/g) ?? []) {
    const url = new URL(candidate);
    if (url.pathname === page && url.searchParams.get("token")) return url;
  }
  throw new Error(`no ${page} link in the mail "${mail.subject}":\n${mail.text}`);
}
