// The signer's admin CLI: `npm run -s admin -w signer-daemon -- <command> [options]`.
// It works on the data directory directly (same config and KEK as the daemon), so only an
// operator with access to the signer host can use it; every change is written to the audit log.

import { UsageError, option } from '@tandem/common/cliArgs';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig, ConfigError } from '../config.ts';
import { openSignerStore } from '../store/open.ts';
import { loadIdentity } from '../identity.ts';
import { SignerError } from '../errors.ts';
import { type Keyset } from '../store/keysets.ts';
import { BackupError } from '@tandem/common/backup';
import { backupSigner, restoreSigner } from '../ops/backup.ts';
import { rotateSignerKek } from '../ops/rotateKek.ts';
import { RekeyError } from '../store/rekey.ts';

const USAGE = `usage: admin <command> [--config FILE]
  init                                  create the data directory, KEK, database and signer identity
  identity                              print the signer's Ed25519 identity public key (hex)
  keysets                               list keysets
  keyset <id>                           show one keyset
  unfreeze <id> --reason TEXT [--operator NAME]
                                        return a frozen keyset to ACTIVE (audited)
  verify-audit                          check the audit log's hash chain (exit 1 if broken)
  export-audit                          print the audit log as JSON lines
  rotate-permit-key --out FILE          make a new permit key, write it (mode 600) for the coordinator;
                                        older keys stay valid for permit.rotationGraceMs
  backup --out DIR                      copy signer.db into DIR (created, mode 700) with SQLite's online backup,
                                        safe while the signer runs, plus manifest.json (schema, KEK fingerprint,
                                        time, SHA-256); the KEK itself is never in a backup: back it up apart
  restore --from DIR [--force]          install a backup into the data directory (stop the signer first); needs
                                        the KEK the backup was made with; --force replaces an existing database
                                        (kept in <dataDir>/replaced-<time>/)
  rotate-kek --new-kek-file FILE [--operator NAME]
                                        re-seal every share, permit key and the identity seed under the KEK in FILE
                                        (64 hex characters, mode 600), in one transaction (audited); stop the signer
                                        first. It does not install FILE: do that, then start the signer, take a
                                        backup, and keep the old KEK while backups made under it are kept`;

const show = (k: Keyset) => ({
  keysetId: k.keysetId,
  status: k.status,
  address: k.address,
  publicKey: Buffer.from(k.publicKey).toString('hex'),
  walletId: Buffer.from(k.walletId).toString('hex'),
  devicePublicKey: Buffer.from(k.devicePublicKey).toString('hex'),
  failures: k.failures,
  createdAt: new Date(k.createdAtMs).toISOString(),
  updatedAt: new Date(k.updatedAtMs).toISOString(),
});

const operatorName = (args: string[], env: NodeJS.ProcessEnv) =>
  option(args, '--operator') ?? env.SUDO_USER ?? userInfo().username;

/**
 * Every command, including the ones that wait on I/O (backup, restore) or need the database to themselves
 * (rotate-kek); returns the exit code: 0 done, 1 refused (a backup or rotation check failed), 2 usage or
 * configuration. Throws only unexpected errors.
 */
export async function runAdminCli(
  argv: string[],
  env = process.env,
  out: (s: string) => void = (s) => void process.stdout.write(s + '\n'),
  err: (s: string) => void = (s) => void process.stderr.write(s),
): Promise<number> {
  const [cmd, ...args] = argv;
  try {
    if (cmd === 'backup') {
      const dir = option(args, '--out');
      if (!dir) throw new UsageError('backup --out DIR');
      const { manifest } = await backupSigner(loadConfig(env, args), env, resolve(dir));
      out(JSON.stringify({ dir: resolve(dir), ...manifest }));
      if (!manifest.audit.ok) {
        err(`admin: backup written, but the audit log does not verify (see manifest.audit): investigate\n`);
        return 1;
      }
      return 0;
    }
    if (cmd === 'restore') {
      const from = option(args, '--from');
      if (!from) throw new UsageError('restore --from DIR [--force]');
      const summary = restoreSigner(loadConfig(env, args), env, {
        fromDir: resolve(from),
        force: args.includes('--force'),
        operator: operatorName(args, env),
      });
      out(JSON.stringify(summary));
      return 0;
    }
    if (cmd === 'rotate-kek') {
      const file = option(args, '--new-kek-file');
      if (!file) throw new UsageError('rotate-kek --new-kek-file FILE [--operator NAME]');
      // Not through runAdmin: that opens the store the daemon's way, which would generate a missing
      // development KEK and share the database; the rotation needs the current KEK and the database to itself.
      const summary = rotateSignerKek(loadConfig(env, args), env, {
        newKekFile: resolve(file),
        operator: operatorName(args, env),
      });
      out(JSON.stringify(summary, null, 2));
      return 0;
    }
    return runAdmin(argv, env, out);
  } catch (e) {
    if (e instanceof BackupError || e instanceof RekeyError) {
      err(`admin: ${e.message}\n`);
      return 1;
    }
    if (e instanceof UsageError || e instanceof ConfigError || e instanceof SignerError) {
      err(`admin: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** The commands that work on the open store (everything but backup, restore and rotate-kek). */
export function runAdmin(
  argv: string[],
  env = process.env,
  out: (s: string) => void = (s) => void process.stdout.write(s + '\n'),
): number {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help') {
    out(USAGE);
    return cmd ? 0 : 2;
  }
  // Before the store is opened below: a restore must never find a fresh database created in its target.
  if (cmd === 'backup' || cmd === 'restore' || cmd === 'rotate-kek')
    throw new UsageError(`${cmd} runs through runAdminCli`);
  const config = loadConfig(env, args);
  const now = () => Date.now();
  const store = openSignerStore(config, now, env);
  const { keysets, audit, permitKeys, db, kek } = store;
  const operator = () => operatorName(args, env);
  try {
    switch (cmd) {
      case 'init':
      case 'identity': {
        const { identity, created } = loadIdentity(db, kek);
        if (created)
          audit.append(operator(), 'identity.created', 'signer', {
            publicKey: Buffer.from(identity.publicKey).toString('hex'),
          });
        out(
          cmd === 'init'
            ? JSON.stringify({
                dataDir: config.dataDir,
                kek: store.kekOrigin,
                identity: Buffer.from(identity.publicKey).toString('hex'),
              })
            : Buffer.from(identity.publicKey).toString('hex'),
        );
        return 0;
      }
      case 'keysets':
        for (const k of keysets.list()) out(JSON.stringify(show(k)));
        return 0;
      case 'keyset': {
        const id = args[0];
        if (!id || id.startsWith('--')) throw new UsageError('keyset <id>');
        const k = keysets.require(id);
        const last = db
          .prepare(
            'SELECT session_id, state, error_code, started_at_ms FROM sign_sessions WHERE keyset_id = ? ORDER BY started_at_ms DESC LIMIT 10',
          )
          .all(id);
        out(JSON.stringify({ ...show(k), recentSigningSessions: last }, null, 2));
        return 0;
      }
      case 'unfreeze': {
        const id = args[0];
        const reason = option(args, '--reason');
        if (!id || id.startsWith('--') || !reason || reason.trim().length < 10)
          throw new UsageError('unfreeze <id> --reason TEXT (at least 10 characters: say what was investigated)');
        db.transaction(() => {
          keysets.unfreeze(id, now());
          audit.append(operator(), 'keyset.unfrozen', id, { reason });
        })();
        out(`keyset ${id} is ACTIVE again`);
        return 0;
      }
      case 'verify-audit': {
        const v = audit.verify();
        out(JSON.stringify(v));
        return v.ok ? 0 : 1;
      }
      case 'export-audit':
        for (const e of audit.entries()) out(JSON.stringify(e));
        return 0;
      case 'rotate-permit-key': {
        const file = option(args, '--out');
        if (!file) throw new UsageError('rotate-permit-key --out FILE');
        const key = db.transaction(() => {
          const k = permitKeys.rotate(now(), config.permit.rotationGraceMs);
          audit.append(operator(), 'permit_key.rotated', k.keyId, { exportedTo: file });
          return k;
        })();
        writeFileSync(file, JSON.stringify({ keyId: key.keyId, secret: key.secret.toString('base64') }) + '\n', {
          mode: 0o600,
          flag: 'wx',
        });
        out(JSON.stringify({ keyId: key.keyId, file }));
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${cmd}\n${USAGE}`);
    }
  } finally {
    store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runAdminCli(process.argv.slice(2));
}
