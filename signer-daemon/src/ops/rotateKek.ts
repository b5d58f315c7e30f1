// `admin rotate-kek --new-kek-file FILE`: re-seals the signer's data under a new KEK (store/rekey.ts does
// the re-sealing, in one transaction, with the signer stopped). The command never installs the new KEK:
// where the signer reads its KEK from (a file, a systemd credential, the environment) is the operator's,
// so the summary says where, for the configuration in use, and what to do next.

import { isAbsolute, join, relative } from 'node:path';
import { type DaemonConfig, ConfigError } from '../config.ts';
import { type KeyEncryptionKey, aesGcmKek, loadKek, readKekFile } from '../store/kek.ts';
import { rekeySignerDb, type RekeyResult } from '../store/rekey.ts';

type Env = Record<string, string | undefined>;

export type KekSourceInfo =
  | { origin: 'file'; file: string }
  | { origin: 'systemd-credential'; file: string }
  | { origin: 'env'; variable: 'TANDEM_SIGNER_KEK' };

export interface KekRotationSummary extends RekeyResult {
  rotated: true;
  newKekFile: string;
  /** Where the signer reads its KEK from, in this configuration: where the new KEK must go. */
  kekSource: KekSourceInfo;
  next: string[];
}

const inside = (path: string, dir: string) => {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/** The KEK the signer's data is sealed with now, and where the signer gets it; never generated. */
function currentKek(config: DaemonConfig, env: Env): { kek: KeyEncryptionKey; source: KekSourceInfo } {
  let loaded: ReturnType<typeof loadKek>;
  try {
    loaded = loadKek({ env: env.TANDEM_SIGNER_KEK, file: config.kekFile, generate: false });
  } catch (e) {
    throw new ConfigError(
      `${(e as Error).message}. rotate-kek needs the KEK this signer's data is sealed with now, where the signer ` +
        `reads it (TANDEM_SIGNER_KEK_FILE)`,
    );
  }
  if (loaded.origin === 'env') return { kek: loaded.kek, source: { origin: 'env', variable: 'TANDEM_SIGNER_KEK' } };
  // systemd copies a credential into $CREDENTIALS_DIRECTORY (/run/credentials/<unit>/) when the unit starts:
  // replacing that copy would change nothing; the credential's source file is what the signer's unit loads.
  const creds = env.CREDENTIALS_DIRECTORY;
  const credential =
    (creds !== undefined && creds !== '' && inside(config.kekFile, creds)) ||
    inside(config.kekFile, '/run/credentials');
  return { kek: loaded.kek, source: { origin: credential ? 'systemd-credential' : 'file', file: config.kekFile } };
}

function newKekFrom(file: string): KeyEncryptionKey {
  let key: Buffer;
  try {
    key = readKekFile(file);
  } catch (e) {
    // Missing, unreadable, readable by others ("has mode 644; it must be 600"), or not 64 hex characters.
    const code = (e as { code?: string }).code;
    throw new ConfigError(
      `--new-kek-file: ` +
        (code === 'ENOENT'
          ? `${file} does not exist; make the new KEK first: umask 077; openssl rand -hex 32 > ${file}`
          : code
            ? `${file} cannot be read (${code})`
            : (e as Error).message),
    );
  }
  try {
    return aesGcmKek(key);
  } finally {
    key.fill(0);
  }
}

function nextSteps(s: KekSourceInfo, newKekFile: string, from: string, to: string): string[] {
  const install =
    s.origin === 'env'
      ? `Install the new KEK: this signer reads its KEK from the TANDEM_SIGNER_KEK variable (development only): ` +
        `set it to the content of ${newKekFile} wherever it is set, or better, remove it and point ` +
        `TANDEM_SIGNER_KEK_FILE at that file (mode 600)`
      : s.origin === 'systemd-credential'
        ? `Install the new KEK: this signer reads it as a systemd credential (${s.file} is the copy systemd made ` +
          `for this command). Replace the credential's source file, the one LoadCredential=kek:… names in ` +
          `tandem-signer.service and in the tandem-signer-admin wrapper (by default /etc/tandem/signer/kek.hex), ` +
          `with ${newKekFile} (owned by root, mode 600); with LoadCredentialEncrypted=, encrypt ${newKekFile} ` +
          `with systemd-creds in place of the old credential`
        : `Install the new KEK: replace the signer's KEK file ${s.file} with ${newKekFile} (mode 600, readable ` +
          `by the signer's user only), e.g. mv ${newKekFile} ${s.file}`;
  return [
    install,
    `Start the signer: its "signer listening" log line must show "kek": {"fingerprint": "${to}"}. With the old ` +
      `KEK it no longer starts ("does not open this data directory's sealed data")`,
    `Make the new KEK's offline copies (labelled ${to}) and take a backup now (admin backup --out DIR): ` +
      `earlier backups are sealed under the old KEK`,
    `Keep the old KEK (fingerprint ${from}) as long as any backup made under it is retained: restoring one ` +
      `needs it (then rotate again). Do not leave copies of either KEK on this host beyond the signer's own`,
  ];
}

/** Re-seals this signer's data under the KEK in `newKekFile` (the signer stopped); the KEK itself is not installed. */
export function rotateSignerKek(
  config: DaemonConfig,
  env: Env,
  o: { newKekFile: string; operator: string },
  now: () => number = Date.now,
): KekRotationSummary {
  const { kek: oldKek, source } = currentKek(config, env);
  const newKek = newKekFrom(o.newKekFile);
  const r = rekeySignerDb(join(config.dataDir, 'signer.db'), oldKek, newKek, { operator: o.operator, now });
  return {
    rotated: true,
    ...r,
    newKekFile: o.newKekFile,
    kekSource: source,
    next: nextSteps(source, o.newKekFile, r.from, r.to),
  };
}
