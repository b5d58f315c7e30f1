// Backup and restore (docs/operator-guide.md, "Backups and restore"): `admin backup` copies the live
// signer.db with SQLite's online backup API while the signer runs and signs; `admin restore` installs it
// into a fresh data directory that has the same KEK, and a second signer started there signs with the
// restored keyset. A different KEK, a tampered file, an occupied or running data directory are refused,
// and a refused restore leaves nothing behind.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recoverAddress, type Hex } from 'viem';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { KeysetStatus, type Keyset } from '@tandem/proto/mpc';
import { sha256File, type BackupManifest } from '@tandem/common/backup';
import { runAdminCli } from '../src/cli/admin.ts';
import { aesGcmKek } from '../src/store/kek.ts';
import {
  Device,
  call,
  devPermitKey,
  issuePermit,
  readDb,
  signThrough,
  startTestSigner,
  tempDir,
  type TestSigner,
} from './harness.ts';

const KS = 'backup-ks';
const message = Buffer.from('backup tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };

let t: TestSigner;
let restored: TestSigner | undefined;
let device: Device;
let identity: string;
let address: string;
const dirs: string[] = [];
const dir = (prefix: string) => {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
};
const backupDir = join(dir('tandem-backups-'), 'signer-1'); // made by the backup command
const kekHex = () => readFileSync(join(t.dataDir, 'kek.hex'), 'utf8').trim();
const fingerprint = (hex: string) => aesGcmKek(Buffer.from(hex, 'hex')).fingerprint;

/** Runs the admin CLI on `dataDir` with a clean environment; returns its exit code and output. */
async function admin(args: string[], dataDir: string): Promise<{ code: number; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TANDEM_')) env[k] = v;
  env.TANDEM_SIGNER_DATA_DIR = dataDir;
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdminCli(
    args,
    env,
    (s) => void out.push(s),
    (s) => void err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('') };
}

/** A data directory holding only a copy of a KEK (mode 600), as an operator prepares it before restore. */
function dataDirWithKek(hex: string): string {
  const d = dir('tandem-restore-');
  writeFileSync(join(d, 'kek.hex'), hex + '\n', { mode: 0o600 });
  return d;
}

async function signAndRecover(signer: TestSigner, permitKeyDir: string): Promise<string> {
  const permit = issuePermit(devPermitKey(permitKeyDir), { keysetId: KS, txHash: m32 });
  const { fromSigner } = await signThrough(signer.client, device, KS, m32, payload, permit);
  return recoverAddress({
    hash: `0x${Buffer.from(m32).toString('hex')}` as Hex,
    signature: {
      r: `0x${fromSigner.r.toString('hex')}`,
      s: `0x${fromSigner.s.toString('hex')}`,
      yParity: fromSigner.recoveryId,
    },
  });
}

before(async () => {
  t = await startTestSigner(dir('tandem-backup-src-'));
  const info = await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {});
  identity = info.identityPublicKey.toString('hex');
  device = new Device(info.identityPublicKey);
  address = (await device.dkg(t.client, KS)).address;
});
after(async () => {
  t.client.close();
  await t.signer.close();
  if (restored) {
    restored.client.close();
    await restored.signer.close();
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true }); // KEKs and shares
});

test('admin backup while the signer runs and signs: database and manifest, private modes, no KEK', async () => {
  // A signing in flight while the backup copies pages: the backup API takes a consistent snapshot.
  const [b, signedBy] = await Promise.all([
    admin(['backup', '--out', backupDir], t.dataDir),
    signAndRecover(t, t.dataDir),
  ]);
  assert.equal(b.code, 0, b.err);
  assert.equal(signedBy, address);

  const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as BackupManifest;
  assert.deepEqual(JSON.parse(b.out), { dir: backupDir, ...manifest });
  assert.equal(manifest.format, 'tandem-backup/1');
  assert.equal(manifest.service, 'signer');
  assert.equal(manifest.database, 'signer.db');
  assert.equal(manifest.schemaVersion, t.signer.ctx.db.pragma('user_version', { simple: true }));
  assert.equal(manifest.sha256, sha256File(join(backupDir, 'signer.db')));
  assert.equal(manifest.bytes, statSync(join(backupDir, 'signer.db')).size);
  assert.equal(manifest.facts.kekFingerprint, fingerprint(kekHex()));
  assert.equal(manifest.facts.identityPublicKey, identity);
  assert.equal(manifest.facts.keysetsActive, 1);
  assert.equal(manifest.audit.ok, true);
  assert.ok(Math.abs(Date.parse(manifest.createdAt) - Date.now()) < 60_000);

  assert.equal(statSync(backupDir).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(backupDir).sort(), ['manifest.json', 'signer.db']); // self-contained: no -wal
  for (const f of readdirSync(backupDir)) assert.equal(statSync(join(backupDir, f)).mode & 0o777, 0o600, f);
  // The KEK is never in a backup, in any spelling.
  const bytes = Buffer.concat([
    readFileSync(join(backupDir, 'signer.db')),
    readFileSync(join(backupDir, 'manifest.json')),
  ]);
  for (const needle of [kekHex(), kekHex().toUpperCase(), Buffer.from(kekHex(), 'hex').toString('base64')])
    assert.equal(bytes.includes(needle), false);
  assert.equal(bytes.includes(Buffer.from(kekHex(), 'hex')), false);

  // Backups are never overwritten.
  const again = await admin(['backup', '--out', backupDir], t.dataDir);
  assert.equal(again.code, 1);
  assert.match(again.err, /already holds a backup/);
});

test('restore into a fresh data directory with the same KEK; a second signer there signs with the keyset', async () => {
  const fresh = dataDirWithKek(kekHex());
  const r = await admin(['restore', '--from', backupDir], fresh);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as Record<string, unknown>;
  assert.equal(summary.identityPublicKey, identity);
  // Fail closed: a restored keyset waits, frozen, for an operator's review.
  assert.deepEqual(summary.keysets, { ACTIVE: 0, FROZEN: 1, RETIRED: 0 });
  assert.deepEqual(summary.corruptedShares, []);
  assert.equal(summary.replacedInto, null);
  assert.match(String(summary.note), /not in this backup/);
  assert.equal(statSync(join(fresh, 'signer.db')).mode & 0o777, 0o600);
  assert.deepEqual(
    readdirSync(fresh).filter((f) => f.includes('restoring')),
    [],
  );

  restored = await startTestSigner(fresh);
  const info = await call<{ identityPublicKey: Buffer }>(restored.client, 'getSignerInfo', {});
  assert.equal(info.identityPublicKey.toString('hex'), identity); // desktops that pinned it keep working
  const frozen = (await call<{ keyset: Keyset }>(restored.client, 'getKeyset', { keysetId: KS })).keyset;
  assert.equal(frozen.status, KeysetStatus.KEYSET_STATUS_FROZEN);
  const un = await admin(
    ['unfreeze', KS, '--reason', 'restored from backup; audit export compared, no later freeze'],
    fresh,
  );
  assert.equal(un.code, 0, un.err);
  const k = (await call<{ keyset: Keyset }>(restored.client, 'getKeyset', { keysetId: KS })).keyset;
  assert.equal(k.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
  assert.equal(k.address, address);
  // The permit keys came back sealed in the database, so no development key was made and exported: the
  // coordinator's copy of the old key (the source directory's export) signs permits for the restored signer.
  assert.equal(existsSync(join(fresh, 'permit-key.json')), false);
  assert.equal(await signAndRecover(restored, t.dataDir), address);

  const entries = restored.signer.ctx.audit.entries();
  assert.ok(entries.some((e) => e.action === 'backup.restored' && e.details.from === backupDir));
  assert.equal(restored.signer.ctx.audit.verify().ok, true);
});

test('restore refuses an occupied data directory without --force, and a running signer even with it', async () => {
  const fresh = restored!.dataDir;
  const occupied = await admin(['restore', '--from', backupDir], fresh);
  assert.equal(occupied.code, 1);
  assert.match(occupied.err, /already has a database \(signer\.db.*--force/);
  const running = await admin(['restore', '--from', backupDir, '--force'], fresh);
  assert.equal(running.code, 1);
  assert.match(running.err, /open in another process: stop the service/);

  restored!.client.close();
  await restored!.signer.close();
  restored = undefined;
  const before = sha256File(join(fresh, 'signer.db')); // now that the stopped signer folded its WAL in
  const forced = await admin(['restore', '--from', backupDir, '--force'], fresh);
  assert.equal(forced.code, 0, forced.err);
  const kept = (JSON.parse(forced.out) as { replacedInto: string }).replacedInto;
  assert.match(kept, /replaced-/);
  assert.equal(sha256File(join(kept, 'signer.db')), before); // the replaced database is kept, not deleted
});

test('restore with a different KEK is refused, naming both fingerprints; nothing is installed', async () => {
  const otherHex = randomBytes(32).toString('hex');
  const other = dataDirWithKek(otherHex);
  const r = await admin(['restore', '--from', backupDir], other);
  assert.equal(r.code, 1);
  assert.match(r.err, /KEK fingerprint mismatch/);
  assert.ok(r.err.includes(fingerprint(otherHex)) && r.err.includes(fingerprint(kekHex())), r.err);
  assert.match(r.err, /TANDEM_SIGNER_KEK_FILE/);
  assert.deepEqual(readdirSync(other), ['kek.hex']);

  // The fingerprint in the manifest is only a label: relabelled for the wrong KEK, the backup is still
  // refused, because that KEK cannot open its sealed identity.
  const relabelled = join(dir('tandem-relabelled-'), 'b');
  cpSync(backupDir, relabelled, { recursive: true });
  const m = JSON.parse(readFileSync(join(relabelled, 'manifest.json'), 'utf8')) as BackupManifest;
  m.facts.kekFingerprint = fingerprint(otherHex);
  writeFileSync(join(relabelled, 'manifest.json'), JSON.stringify(m));
  const r2 = await admin(['restore', '--from', relabelled], other);
  assert.equal(r2.code, 1);
  assert.match(
    r2.err,
    new RegExp(`KEK fingerprint mismatch: the KEK in use \\(fingerprint ${fingerprint(otherHex)}\\)`),
  );
  assert.deepEqual(readdirSync(other), ['kek.hex']);

  // No KEK at all: a configuration error, and none is generated.
  const none = dir('tandem-nokek-');
  const r3 = await admin(['restore', '--from', backupDir], none);
  assert.equal(r3.code, 2);
  assert.match(r3.err, /restore needs the KEK.*TANDEM_SIGNER_KEK_FILE/);
  assert.deepEqual(readdirSync(none), []);
});

test('a tampered backup file is refused by the manifest hash; nothing is installed', async () => {
  const tampered = join(dir('tandem-tampered-'), 'b');
  cpSync(backupDir, tampered, { recursive: true });
  const file = join(tampered, 'signer.db');
  const bytes = readFileSync(file);
  bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x01;
  writeFileSync(file, bytes);
  const target = dataDirWithKek(kekHex());
  const r = await admin(['restore', '--from', tampered], target);
  assert.equal(r.code, 1);
  assert.match(r.err, /does not match its manifest \(SHA-256 [0-9a-f]{64}, manifest says [0-9a-f]{64}\)/);
  assert.deepEqual(readdirSync(target), ['kek.hex']);

  const noManifest = join(dir('tandem-nomanifest-'), 'b');
  cpSync(backupDir, noManifest, { recursive: true });
  rmSync(join(noManifest, 'manifest.json'));
  const r2 = await admin(['restore', '--from', noManifest], target);
  assert.equal(r2.code, 1);
  assert.match(r2.err, /manifest\.json: missing/);
});

test('the backed-up database opens read-only on its own (no -wal needed)', () => {
  const db = readDb(backupDir);
  try {
    const row = db.prepare('SELECT status, address FROM keysets WHERE keyset_id = ?').get(KS) as {
      status: string;
      address: string;
    };
    assert.deepEqual(row, { status: 'ACTIVE', address });
  } finally {
    db.close();
  }
});
