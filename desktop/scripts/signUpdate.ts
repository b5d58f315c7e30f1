// The release side of updates: writes tandem-update.json for a directory of built installers (SHA-512 and size of
// each) and its detached Ed25519 signature tandem-update.json.sig, which installed apps check against the keys pinned
// in src/main/releaseKeys.ts before they read anything else (src/main/updates.ts).
//
//   tsx scripts/signUpdate.ts --generate-key --out FILE
//       creates a release key pair: the private key as PEM in FILE (mode 0600, never overwritten), and prints the
//       public key's hex for RELEASE_PUBLIC_KEYS_HEX. Keep FILE offline, with the release team.
//   tsx scripts/signUpdate.ts --dir RELEASE_DIR [--version X.Y.Z] [--minimum-version X.Y.Z] [--release-date ISO]
//       [--file PLATFORM/ARCH=NAME]... [--key-file FILE]
//       the private key comes from --key-file or, failing that, TANDEM_UPDATE_SIGNING_KEY (the PEM text itself).
//       Without --file, each installer's platform and architecture come from its name (.exe/.msi: win32,
//       .dmg/.pkg: darwin, .AppImage/.deb/.rpm: linux; arm64/aarch64, ia32, universal, otherwise x64); two installers
//       for one platform need --file to say which one the apps install.
//
// The private key is never printed, logged or put in an error message. The version defaults to desktop's
// package.json; the release date to now.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { RELEASE_PUBLIC_KEYS_HEX } from '../src/main/releaseKeys.ts';
import {
  MANIFEST_NAME,
  PRODUCT,
  SIGNATURE_NAME,
  type UpdateManifest,
  isVersion,
  manifestSchema,
  releaseKeyObject,
  verifyManifestSignature,
} from '../src/main/updates.ts';

export const SIGNING_KEY_ENV = 'TANDEM_UPDATE_SIGNING_KEY';

/** A failure of the tool, with a message that is safe to print. */
export class SignUpdateError extends Error {
  override readonly name = 'SignUpdateError';
}

/** The raw public key, as hex, of an Ed25519 key pair's public or private half. */
export function publicKeyHex(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32).toString('hex');
}

/** Creates a key pair: the private key in `out` (PEM, PKCS#8, mode 0600, refused if `out` exists). */
export async function generateReleaseKey(out: string): Promise<{ publicKeyHex: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  try {
    await writeFile(out, pem, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SignUpdateError(
      code === 'EEXIST' ? `${out} exists; a release key is never overwritten.` : `cannot write ${out} (${code}).`,
    );
  }
  return { publicKeyHex: publicKeyHex(publicKey) };
}

/** Parses the release private key; the message on failure never quotes it. */
export function loadSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SignUpdateError('the signing key is not a PEM private key.');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SignUpdateError('the signing key is not an Ed25519 key.');
  return key;
}

/** Where an installer runs, from its name; undefined for what is not an installer. */
export function inferTarget(name: string): { platform: string; arch: string } | undefined {
  const ext = path.extname(name).toLowerCase();
  const platform = ['.exe', '.msi'].includes(ext)
    ? 'win32'
    : ['.dmg', '.pkg'].includes(ext)
      ? 'darwin'
      : ['.appimage', '.deb', '.rpm'].includes(ext)
        ? 'linux'
        : undefined;
  if (!platform) return undefined;
  const n = name.toLowerCase();
  const arch = /arm64|aarch64/.test(n)
    ? 'arm64'
    : /ia32|i386|i686/.test(n)
      ? 'ia32'
      : /universal/.test(n) && platform === 'darwin'
        ? 'universal'
        : 'x64'; // electron-builder leaves x64 out of some names
  return { platform, arch };
}

async function sha512Base64(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

export interface SignReleaseOptions {
  dir: string;
  version: string;
  releaseDate?: string;
  minimumVersion?: string;
  /** 'platform/arch=name' entries; without any, every installer in `dir` with its target from its name. */
  files?: string[];
  signingKey: KeyObject;
}

/** Writes the manifest and its signature into `dir`; returns the manifest and the signer's public key. */
export async function signRelease(o: SignReleaseOptions): Promise<{ manifest: UpdateManifest; publicKeyHex: string }> {
  if (!isVersion(o.version)) throw new SignUpdateError(`${o.version} is not a semantic version.`);
  const chosen: Array<{ platform: string; arch: string; name: string }> = [];
  if (o.files && o.files.length > 0) {
    for (const f of o.files) {
      const m = /^([a-z0-9_]+)\/([a-z0-9_]+)=(.+)$/.exec(f);
      if (!m) throw new SignUpdateError(`--file ${f}: expected PLATFORM/ARCH=NAME, e.g. win32/x64=Tandem-Setup.exe.`);
      chosen.push({ platform: m[1]!, arch: m[2]!, name: m[3]! });
    }
  } else {
    for (const e of await readdir(o.dir, { withFileTypes: true })) {
      const t = e.isFile() && !e.name.startsWith('.') ? inferTarget(e.name) : undefined;
      if (t) chosen.push({ ...t, name: e.name });
    }
  }
  if (chosen.length === 0) throw new SignUpdateError(`no installer found in ${o.dir}.`);
  const byTarget = new Map<string, string>();
  for (const c of chosen) {
    const key = `${c.platform}/${c.arch}`;
    if (byTarget.has(key))
      throw new SignUpdateError(`two installers for ${key} (${byTarget.get(key)}, ${c.name}): say which with --file.`);
    byTarget.set(key, c.name);
  }

  const files: UpdateManifest['files'] = [];
  for (const c of chosen) {
    if (c.name.includes('/') || c.name.includes('\\') || c.name.startsWith('.'))
      throw new SignUpdateError(`--file ${c.name}: a file name in the release directory, not a path.`);
    const file = path.join(o.dir, c.name);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new SignUpdateError(`${c.name} is not a file in ${o.dir}.`);
    files.push({
      platform: c.platform,
      arch: c.arch,
      url: encodeURIComponent(c.name),
      sha512: await sha512Base64(file),
      size: st.size,
    });
  }
  // The apps' own schema: a manifest this tool writes is one they accept.
  const parsed = manifestSchema.safeParse({
    product: PRODUCT,
    version: o.version,
    releaseDate: o.releaseDate ?? new Date().toISOString(),
    ...(o.minimumVersion === undefined ? {} : { minimumVersion: o.minimumVersion }),
    files,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SignUpdateError(`the manifest would be refused: ${issue?.path.join('.')} ${issue?.message}.`);
  }
  const manifest = parsed.data;

  // The signature covers these exact bytes: the apps verify them before parsing.
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
  const signature = Buffer.from(sign(null, bytes, o.signingKey).toString('base64') + '\n', 'latin1');
  const pub = publicKeyHex(o.signingKey);
  if (!verifyManifestSignature(bytes, signature, [releaseKeyObject(Buffer.from(pub, 'hex'))]))
    throw new SignUpdateError('the signature does not verify (a broken key?).');
  await writeFile(path.join(o.dir, MANIFEST_NAME), bytes);
  await writeFile(path.join(o.dir, SIGNATURE_NAME), signature);
  return { manifest, publicKeyHex: pub };
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'generate-key': { type: 'boolean' },
      out: { type: 'string' },
      dir: { type: 'string' },
      version: { type: 'string' },
      'minimum-version': { type: 'string' },
      'release-date': { type: 'string' },
      file: { type: 'string', multiple: true },
      'key-file': { type: 'string' },
    },
    strict: true,
  });
  if (values['generate-key']) {
    if (!values.out) throw new SignUpdateError('--generate-key needs --out FILE for the private key.');
    const { publicKeyHex: hex } = await generateReleaseKey(values.out);
    console.log(`private key written to ${values.out} (mode 0600): keep it offline, with the release team.`);
    console.log(`public key, for RELEASE_PUBLIC_KEYS_HEX in desktop/src/main/releaseKeys.ts:\n${hex}`);
    return;
  }
  if (!values.dir) throw new SignUpdateError('--dir RELEASE_DIR is needed (or --generate-key --out FILE).');
  let pem: string | undefined;
  if (values['key-file']) {
    pem = await readFile(values['key-file'], 'utf8').catch(() => {
      throw new SignUpdateError(`cannot read the key file ${values['key-file']}.`);
    });
  } else pem = process.env[SIGNING_KEY_ENV];
  if (!pem) throw new SignUpdateError(`no signing key: give --key-file FILE or set ${SIGNING_KEY_ENV}.`);

  const { manifest, publicKeyHex: hex } = await signRelease({
    dir: values.dir,
    version: values.version ?? (await packageVersion()),
    signingKey: loadSigningKey(pem),
    ...(values['release-date'] ? { releaseDate: values['release-date'] } : {}),
    ...(values['minimum-version'] ? { minimumVersion: values['minimum-version'] } : {}),
    ...(values.file ? { files: values.file } : {}),
  });
  console.log(`wrote ${MANIFEST_NAME} and ${SIGNATURE_NAME} for Tandem ${manifest.version} in ${values.dir}:`);
  for (const f of manifest.files)
    console.log(`  ${f.platform}/${f.arch}  ${decodeURIComponent(f.url)}  ${f.size} bytes`);
  console.log(`signed by ${hex}`);
  if (!RELEASE_PUBLIC_KEYS_HEX.some((k) => k.toLowerCase() === hex))
    console.error(
      'warning: this key is not pinned in src/main/releaseKeys.ts; installed apps will refuse the manifest.',
    );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv.slice(2)).catch((e: unknown) => {
    // Our own errors say what is wrong; anything else is reported by kind only, in case its text holds key material.
    console.error(`signUpdate: ${e instanceof SignUpdateError || e instanceof TypeError ? e.message : 'failed'}`);
    process.exitCode = 1;
  });
