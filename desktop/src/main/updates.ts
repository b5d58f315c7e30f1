// Update checks: off unless IT's policy sets an update URL (settings.updateUrl), and then nothing is trusted that a
// Tandem release key (releaseKeys.ts) did not sign. One check:
//
//   1. fetch <updateUrl>/tandem-update.json and its detached signature tandem-update.json.sig (Ed25519, base64, over
//      the exact bytes of the manifest), each with a size cap;
//   2. verify the signature against the pinned keys BEFORE parsing anything, so a forged manifest never reaches the
//      JSON parser or the schema;
//   3. check the manifest (product, versions, files) and refuse an older version (a replayed old manifest, or a
//      compromised server trying to bring back a fixed bug); the same version is up to date;
//   4. download this platform's installer from the same origin, refusing more bytes than the manifest says, hash it
//      with SHA-512 while it arrives, and put it in the staging directory (mode 0600) only if the hash matches.
//
// The installer is then opened by the OS, which checks its own code signature as well (Authenticode, Gatekeeper);
// the signed manifest is what covers the Linux packages, which have none. Every failure is an UpdateError with a
// stable code and a message for people that never quotes what a server sent.
//
// This module imports nothing from electron: it runs and is tested in plain Node (updateService.ts schedules it).

import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir } from '../vault/atomicFile.ts';
import { DesktopError } from './errors.ts';
import { pinnedReleaseKeys } from './releaseKeys.ts';

export const PRODUCT = 'Tandem';
export const MANIFEST_NAME = 'tandem-update.json';
export const SIGNATURE_NAME = 'tandem-update.json.sig';

const MAX_MANIFEST_BYTES = 256 * 1024;
const MAX_SIGNATURE_BYTES = 1024;
/** An installer larger than this is a mistake, whatever a signed manifest says. */
export const MAX_INSTALLER_BYTES = 2 * 1024 ** 3;
const SMALL_FETCH_TIMEOUT_MS = 30_000;
/** A download that sends nothing for this long is dropped (a slow link is fine; a stalled one is not). */
const DOWNLOAD_IDLE_MS = 60_000;
const FILE_MODE = 0o600;
const isWindows = process.platform === 'win32';

export type UpdateErrorCode =
  /** The update URL is not https:// (or carries credentials, a query or a fragment). */
  | 'UPDATE_URL_INVALID'
  /** The manifest's signature is missing, malformed, or not by a pinned release key (or none is pinned). */
  | 'UPDATE_SIGNATURE_INVALID'
  /** The signed manifest is not JSON, fails the schema, is for another product, or names a file elsewhere. */
  | 'UPDATE_MANIFEST_INVALID'
  /** The manifest offers a version older than this one. */
  | 'UPDATE_DOWNGRADE'
  /** The server could not be reached, answered an error, or sent too many or too few bytes. */
  | 'UPDATE_DOWNLOAD_FAILED'
  /** The downloaded installer's SHA-512 differs from the signed manifest's. */
  | 'UPDATE_HASH_MISMATCH'
  /** The manifest has no installer for this platform and architecture. */
  | 'UPDATE_NO_FILE_FOR_PLATFORM';

export class UpdateError extends DesktopError {
  declare readonly code: UpdateErrorCode;
  constructor(code: UpdateErrorCode, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? {} : { cause });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Versions (Semantic Versioning 2.0.0: precedence ignores build metadata; a pre-release is lower than its release).

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

export const isVersion = (v: string): boolean => v.length <= 64 && SEMVER.test(v);

/** Numeric identifiers without leading zeros compare by length, then as text: exact at any size. */
const compareNumeric = (a: string, b: string): number =>
  a.length !== b.length ? Math.sign(a.length - b.length) : a < b ? -1 : a > b ? 1 : 0;

function compareIdentifier(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return compareNumeric(a, b);
  if (an !== bn) return an ? -1 : 1; // numeric identifiers are lower than alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0;
}

/** -1, 0 or 1 as `a` is lower than, equal to or higher than `b` in semver precedence. Throws on a non-version. */
export function compareVersions(a: string, b: string): number {
  const ma = SEMVER.exec(a);
  const mb = SEMVER.exec(b);
  if (!ma || !mb) throw new TypeError('not a semantic version');
  for (let i = 1; i <= 3; i++) {
    const c = compareNumeric(ma[i]!, mb[i]!);
    if (c !== 0) return c;
  }
  const pa = ma[4]?.split('.');
  const pb = mb[4]?.split('.');
  if (!pa || !pb) return pa ? -1 : pb ? 1 : 0;
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = compareIdentifier(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(pa.length - pb.length);
}

// ---------------------------------------------------------------------------------------------------------------
// The manifest. Objects are not strict on purpose: the manifest is signed, so extra keys come from a later release
// process, and refusing them would strand every installed app on its version.

const version = z.string().refine(isVersion, 'not a semantic version');
const sha512Base64 = z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'not a base64 SHA-512');
const target = z.string().regex(/^[a-z0-9_]{1,32}$/, 'not a platform or architecture name');

const updateFileSchema = z.object({
  /** Node's names: win32, darwin, linux. */
  platform: target,
  /** Node's names: x64, arm64, ia32; 'universal' for a macOS build that runs on both. */
  arch: target,
  /** A name relative to the update URL, or an https:// URL on the update URL's origin. */
  url: z.string().min(1).max(2048),
  sha512: sha512Base64,
  size: z.number().int().min(1).max(MAX_INSTALLER_BYTES),
});

export const manifestSchema = z
  .object({
    product: z.literal(PRODUCT),
    version,
    releaseDate: z.iso.datetime({ offset: true }),
    /** The oldest version still supported: an app below it is told the update is required. */
    minimumVersion: version.optional(),
    files: z.array(updateFileSchema).min(1).max(64),
  })
  .superRefine((m, ctx) => {
    if (m.minimumVersion !== undefined && compareVersions(m.minimumVersion, m.version) > 0)
      ctx.addIssue({ code: 'custom', path: ['minimumVersion'], message: 'above the version itself' });
    const seen = new Set<string>();
    m.files.forEach((f, i) => {
      const key = `${f.platform}/${f.arch}`;
      // Two installers for one platform would leave the choice of what to install to this code: the release says.
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['files', i], message: `a second file for ${key}` });
      seen.add(key);
    });
  });

export type UpdateManifest = z.infer<typeof manifestSchema>;
export type UpdateFile = z.infer<typeof updateFileSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Signatures.

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function releaseKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TypeError('a release public key is 32 bytes (Ed25519, raw)');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The detached signature file: base64 of 64 bytes, surrounding whitespace allowed, nothing else. */
function decodeSignature(file: Buffer): Buffer | undefined {
  const text = file.toString('latin1').trim();
  return /^[A-Za-z0-9+/]{86}==$/.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** True when `signatureFile` is a valid Ed25519 signature over exactly `manifest` by one of `keys`. */
export function verifyManifestSignature(manifest: Buffer, signatureFile: Buffer, keys: readonly KeyObject[]): boolean {
  const sig = decodeSignature(signatureFile);
  if (!sig) return false;
  return keys.some((key) => {
    try {
      return verify(null, manifest, key, sig);
    } catch {
      return false;
    }
  });
}

/** Parses manifest bytes that passed the signature check. */
export function parseManifest(bytes: Buffer): UpdateManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new UpdateError('UPDATE_MANIFEST_INVALID', 'The signed update manifest is not valid JSON.', e);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    // The field's path and the rule, never its value.
    const field = issue?.path.map(String).join('.') || '(manifest)';
    throw new UpdateError('UPDATE_MANIFEST_INVALID', `The signed update manifest has a wrong field: ${field}.`);
  }
  return r.data;
}

// ---------------------------------------------------------------------------------------------------------------
// Files on disk.

/** Hashes an installer already on disk; false when it is missing, not a regular file, or differs. */
export async function verifyStagedInstaller(file: string, sha512: string, size: number): Promise<boolean> {
  let handle;
  try {
    // A symbolic link planted in the staging directory is refused, not followed.
    handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch {
    return false;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size !== size) return false;
    const hash = createHash('sha512');
    const buf = Buffer.alloc(1024 * 1024);
    for (let pos = 0; ;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return hash.digest().equals(Buffer.from(sha512, 'base64'));
  } finally {
    await handle.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  if (isWindows) return; // Windows cannot open a directory for fsync; NTFS journals the rename itself.
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The staging directory holds one installer: anything else in it (an older one, a broken-off part) goes. */
async function prune(dir: string, keep: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }))
    if (e.name !== keep && (e.isFile() || e.isSymbolicLink())) await unlink(path.join(dir, e.name)).catch(() => {});
}

/** A file name for the installer: the URL's last segment, tamed, so the OS still opens it by its extension. */
function stagedName(url: URL, fallback: string): string {
  let last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  try {
    last = decodeURIComponent(last);
  } catch {
    // keep it encoded
  }
  const name = last
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(-128);
  return name || fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// The checker.

export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface UpdateCheckerOptions {
  /** IT's update URL (settings.updateUrl). null: updates are off, and the checker never touches the network. */
  updateUrl: string | null;
  /** This app's version (semver). */
  currentVersion: string;
  /** Node's platform and arch names; this process's when not given. */
  platform?: string;
  arch?: string;
  /** Raw Ed25519 public keys; the ones pinned in this build (releaseKeys.ts) when not given. Tests pass their own. */
  releasePublicKeys?: readonly Uint8Array[];
  /** Global fetch when not given. */
  fetch?: Fetch;
  /** A directory for updates alone (created 0700): anything in it but the current installer is deleted. */
  stagingDir: string;
  now?: () => Date;
  /** Tests only: also accept http://127.0.0.1 and http://[::1] (a local server without TLS). Never set in the app. */
  allowInsecureLoopbackForTests?: boolean;
}

export type UpdateCheckResult =
  /** No update URL is configured: nothing was fetched. `version` is this app's. */
  | { status: 'disabled'; version: string; path: null; checkedAt: string }
  /** The signed manifest offers this app's own version. */
  | { status: 'up_to_date'; version: string; path: null; checkedAt: string }
  /** A newer version's installer, verified, waits at `path`. */
  | {
      status: 'ready';
      version: string;
      path: string;
      /** The signed manifest's hash and size, to check the file again just before it is opened. */
      sha512: string;
      size: number;
      releaseDate: string;
      /** This app is older than the manifest's minimumVersion. */
      mandatory: boolean;
      checkedAt: string;
    };

export class UpdateChecker {
  private readonly keys: KeyObject[];
  private readonly fetchFn: Fetch;
  private readonly platform: string;
  private readonly arch: string;
  private readonly now: () => Date;

  constructor(private readonly opts: UpdateCheckerOptions) {
    // Checked only when enabled: with updates off, nothing about them may stop the app.
    const enabled = opts.updateUrl !== null;
    if (enabled && !isVersion(opts.currentVersion)) throw new TypeError('currentVersion is not a semantic version');
    this.keys = enabled ? (opts.releasePublicKeys ?? pinnedReleaseKeys()).map(releaseKeyObject) : [];
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.platform = opts.platform ?? process.platform;
    this.arch = opts.arch ?? process.arch;
    this.now = opts.now ?? (() => new Date());
  }

  get enabled(): boolean {
    return this.opts.updateUrl !== null;
  }

  /** One check; `signal` aborts it (a download in progress is dropped and its part deleted). */
  async check(signal: AbortSignal = new AbortController().signal): Promise<UpdateCheckResult> {
    const checkedAt = this.now().toISOString();
    const current = this.opts.currentVersion;
    if (this.opts.updateUrl === null) return { status: 'disabled', version: current, path: null, checkedAt };
    const base = this.base(this.opts.updateUrl);
    if (this.keys.length === 0)
      throw new UpdateError(
        'UPDATE_SIGNATURE_INVALID',
        'This build of Tandem has no release key to check updates with. Ask IT to deploy a released build.',
      );

    const manifestBytes = await this.fetchSmall(new URL(MANIFEST_NAME, base), MAX_MANIFEST_BYTES, signal);
    const signature = await this.fetchSmall(new URL(SIGNATURE_NAME, base), MAX_SIGNATURE_BYTES, signal);
    if (!verifyManifestSignature(manifestBytes, signature, this.keys))
      throw new UpdateError(
        'UPDATE_SIGNATURE_INVALID',
        'The update server offered a manifest that is not signed by a Tandem release key. Nothing was installed.',
      );
    const manifest = parseManifest(manifestBytes);

    const order = compareVersions(manifest.version, current);
    if (order < 0)
      throw new UpdateError(
        'UPDATE_DOWNGRADE',
        `The update server offers Tandem ${manifest.version}, older than this ${current}; Tandem never goes back.`,
      );
    if (order === 0) return { status: 'up_to_date', version: current, path: null, checkedAt };

    const file = this.pick(manifest);
    const url = this.fileUrl(file.url, base);
    await ensurePrivateDir(this.opts.stagingDir);
    const fallback = `tandem-${manifest.version}-${this.platform}-${this.arch}`;
    const dest = path.join(this.opts.stagingDir, stagedName(url, fallback));
    // A previous check may have fetched it already; anything else under that name is deleted and fetched again.
    if (!(await verifyStagedInstaller(dest, file.sha512, file.size))) {
      await unlink(dest).catch(() => {});
      await this.download(url, file, dest, signal);
    }
    await prune(this.opts.stagingDir, path.basename(dest));
    return {
      status: 'ready',
      version: manifest.version,
      path: dest,
      sha512: file.sha512,
      size: file.size,
      releaseDate: manifest.releaseDate,
      mandatory: manifest.minimumVersion !== undefined && compareVersions(current, manifest.minimumVersion) < 0,
      checkedAt,
    };
  }

  /** The update URL as a directory URL; https only (settings.ts enforces it too), loopback http for tests. */
  private base(raw: string): URL {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new UpdateError('UPDATE_URL_INVALID', 'The update address is not a URL. Ask IT to correct it.');
    }
    const loopback = u.hostname === '127.0.0.1' || u.hostname === '[::1]';
    const insecureOk = this.opts.allowInsecureLoopbackForTests === true && u.protocol === 'http:' && loopback;
    if (u.protocol !== 'https:' && !insecureOk)
      throw new UpdateError('UPDATE_URL_INVALID', 'The update address must start with https://. Ask IT to correct it.');
    if (u.username || u.password || u.search || u.hash)
      throw new UpdateError(
        'UPDATE_URL_INVALID',
        'The update address must not carry a user name, password, query or fragment. Ask IT to correct it.',
      );
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    return u;
  }

  private pick(m: UpdateManifest): UpdateFile {
    const exact = m.files.find((f) => f.platform === this.platform && f.arch === this.arch);
    const universal =
      this.platform === 'darwin' ? m.files.find((f) => f.platform === 'darwin' && f.arch === 'universal') : undefined;
    const file = exact ?? universal;
    if (!file)
      throw new UpdateError(
        'UPDATE_NO_FILE_FOR_PLATFORM',
        `Tandem ${m.version} has no installer for this computer (${this.platform}, ${this.arch}).`,
      );
    return file;
  }

  /** Files come from the update server's own origin: a signed manifest still may not send the app elsewhere. */
  private fileUrl(raw: string, base: URL): URL {
    let u: URL | undefined;
    try {
      u = new URL(raw, base);
    } catch {
      u = undefined;
    }
    if (!u || u.origin !== base.origin || u.username || u.password)
      throw new UpdateError(
        'UPDATE_MANIFEST_INVALID',
        'The signed update manifest names an installer outside the update server.',
      );
    return u;
  }

  private async get(url: URL, signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      // No redirects: they would lead away from the origin IT configured.
      res = await this.fetchFn(url, { redirect: 'error', signal, headers: { 'cache-control': 'no-cache' } });
    } catch (e) {
      throw new UpdateError(
        'UPDATE_DOWNLOAD_FAILED',
        `Tandem could not fetch ${lastSegment(url)} from the update server (${url.host}).`,
        e,
      );
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new UpdateError(
        'UPDATE_DOWNLOAD_FAILED',
        `The update server answered ${res.status} for ${lastSegment(url)}.`,
      );
    }
    return res;
  }

  /** Streams a body to `onChunk`, refusing more than `max` bytes (declared or sent). Returns the byte count. */
  private async read(res: Response, url: URL, max: number, onChunk: (c: Uint8Array) => unknown): Promise<number> {
    const tooLarge = () =>
      new UpdateError('UPDATE_DOWNLOAD_FAILED', `The update server sent more than expected for ${lastSegment(url)}.`);
    const declared = res.headers.get('content-length');
    if (declared !== null && Number(declared) > max) {
      await res.body?.cancel().catch(() => {});
      throw tooLarge();
    }
    if (!res.body) return 0;
    const reader = res.body.getReader();
    let total = 0;
    let done = false;
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          done = true;
          return total;
        }
        total += r.value.byteLength;
        if (total > max) throw tooLarge();
        await onChunk(r.value);
      }
    } catch (e) {
      if (e instanceof UpdateError) throw e;
      throw new UpdateError('UPDATE_DOWNLOAD_FAILED', `The download of ${lastSegment(url)} broke off.`, e);
    } finally {
      // Stopped early: the connection is dropped, not drained.
      if (!done) await reader.cancel().catch(() => {});
    }
  }

  private async fetchSmall(url: URL, max: number, signal: AbortSignal): Promise<Buffer> {
    const s = AbortSignal.any([signal, AbortSignal.timeout(SMALL_FETCH_TIMEOUT_MS)]);
    const chunks: Uint8Array[] = [];
    await this.read(await this.get(url, s), url, max, (c) => chunks.push(c));
    return Buffer.concat(chunks);
  }

  /** Downloads into a private temporary file beside `dest` and renames it there only once size and hash match. */
  private async download(url: URL, file: UpdateFile, dest: string, signal: AbortSignal): Promise<void> {
    const stalled = new AbortController();
    const timer = setTimeout(() => stalled.abort(), DOWNLOAD_IDLE_MS);
    timer.unref();
    const temp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.part`);
    const handle = await open(temp, 'wx', FILE_MODE);
    let closed = false;
    let placed = false;
    try {
      if (!isWindows) await handle.chmod(FILE_MODE); // whatever the umask
      const hash = createHash('sha512');
      const res = await this.get(url, AbortSignal.any([signal, stalled.signal]));
      const n = await this.read(res, url, file.size, async (c) => {
        timer.refresh();
        hash.update(c);
        await handle.write(c);
      });
      if (n !== file.size)
        throw new UpdateError(
          'UPDATE_DOWNLOAD_FAILED',
          `The update server sent ${n} bytes for ${lastSegment(url)}, not the ${file.size} the signed manifest says.`,
        );
      if (!hash.digest().equals(Buffer.from(file.sha512, 'base64')))
        throw new UpdateError(
          'UPDATE_HASH_MISMATCH',
          `The downloaded ${lastSegment(url)} is not the file Tandem's release signed. It was deleted.`,
        );
      await handle.sync();
      await handle.close();
      closed = true;
      await rename(temp, dest);
      placed = true;
      await fsyncDir(path.dirname(dest));
    } finally {
      clearTimeout(timer);
      if (!closed) await handle.close().catch(() => {});
      // A download that failed any check never stays on disk.
      if (!placed) await unlink(temp).catch(() => {});
    }
  }
}

function lastSegment(url: URL): string {
  const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  return name.length > 0 && name.length <= 200 ? name : url.pathname.slice(0, 200);
}
