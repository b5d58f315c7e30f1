// Backup and restore of the coordinator's database (docs/operator-guide.md, "Backups and restore"):
// `admin backup` copies the live coordinator.db with SQLite's online backup API while the service has it
// open; `admin restore` installs it into a fresh data directory, where the users (who can sign in with
// their passwords), the wallet and the audit chain are all there and the chain verifies. A tampered file,
// a broken audit chain, an occupied or open data directory are refused and leave nothing behind.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File, type BackupManifest } from '@tandem/common/backup';
import { runAdmin } from '../src/cli/admin.ts';
import { WalletRepo } from '../src/wallets/repo.ts';
import { buildTestApp, createUser, login, makeTestContext, type TestContext } from './harness.ts';

const dirs: string[] = [];
const dir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
const contexts: TestContext[] = [];
after(async () => {
  for (const c of contexts) await c.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the admin CLI on `dataDir` with a clean environment; returns its exit code and output. */
async function admin(args: string[], dataDir: string): Promise<{ code: number; out: string; err: string }> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TANDEM_')) env[k] = v;
  env.TANDEM_COORDINATOR_DATA_DIR = dataDir;
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdmin(args, env, (s) => void out.push(s), { err: (s) => void err.push(s) });
  return { code, out: out.join('\n'), err: err.join('') };
}

/** A coordinator database in use: users, a wallet with its signer key recorded, audit entries. */
async function populated(): Promise<{ ctx: TestContext; password: string; walletId: string }> {
  const ctx = makeTestContext({ dir: dir('tandem-coord-src-') });
  contexts.push(ctx);
  const admin = await createUser(ctx, 'alice', ['admin']);
  const signer = await createUser(ctx, 'sam', ['signer']);
  const wallets = new WalletRepo(ctx.store);
  const w = await wallets.create('Treasury', signer.user.id, admin.user.id, ctx.now());
  await ctx.audit.append(admin.user.id, 'wallet.created', w.id, { name: w.name });
  return { ctx, password: admin.password, walletId: w.id };
}

test('backup while the database is open, restore into a fresh directory: users, wallet and audit chain intact', async () => {
  const { ctx, password, walletId } = await populated();
  const backupDir = join(dir('tandem-coord-backups-'), 'coordinator-1');
  const b = await admin(['backup', '--out', backupDir], ctx.dir);
  assert.equal(b.code, 0, b.err);
  const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as BackupManifest;
  assert.deepEqual(JSON.parse(b.out), { dir: backupDir, ...manifest });
  assert.equal(manifest.service, 'coordinator');
  assert.equal(manifest.database, 'coordinator.db');
  assert.equal(manifest.sha256, sha256File(join(backupDir, 'coordinator.db')));
  assert.equal(manifest.schemaVersion, await ctx.store.schemaVersion());
  assert.deepEqual(manifest.facts, { users: 2, wallets: 1, withdrawals: 0 });
  const chain = await ctx.audit.verify();
  assert.ok(chain.ok);
  assert.deepEqual(manifest.audit, { ok: true, entries: chain.entries, head: chain.head });
  assert.equal(statSync(backupDir).mode & 0o777, 0o700);
  for (const f of readdirSync(backupDir)) assert.equal(statSync(join(backupDir, f)).mode & 0o777, 0o600, f);

  // Changes after the backup are not in it.
  await createUser(ctx, 'late', ['initiator']);

  const fresh = dir('tandem-coord-restore-');
  const r = await admin(['restore', '--from', backupDir], fresh);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as Record<string, unknown>;
  assert.equal(summary.users, 2);
  assert.equal(summary.wallets, 1);
  assert.equal(summary.replacedInto, null);
  assert.match(String(summary.note), /reconcile withdrawals/);

  const restored = makeTestContext({ dir: fresh });
  contexts.push(restored);
  assert.deepEqual(
    (await restored.store.all<{ username: string }>('SELECT username FROM users ORDER BY username')).map(
      (u) => u.username,
    ),
    ['alice', 'sam'],
  );
  const w = await new WalletRepo(restored.store).require(walletId);
  assert.equal(w.name, 'Treasury');
  assert.deepEqual(w, await new WalletRepo(ctx.store).require(walletId));
  // The audit chain verifies, with the restore recorded at its end, also through the CLI.
  const v = await restored.audit.verify();
  assert.ok(v.ok);
  assert.equal(v.entries, chain.entries + 1);
  assert.equal((await restored.audit.entries()).at(-1)?.action, 'backup.restored');
  assert.equal((await admin(['verify-audit'], fresh)).code, 0);
  // The password hashes came back: alice signs in to the restored coordinator.
  const app = await buildTestApp(restored);
  try {
    assert.ok((await login(app, 'alice', password)).length > 0);
  } finally {
    await app.close();
  }
});

test('refusals: a tampered file, an occupied or open data directory; --force keeps the old database', async () => {
  const { ctx } = await populated();
  const backupDir = join(dir('tandem-coord-backups-'), 'b');
  assert.equal((await admin(['backup', '--out', backupDir], ctx.dir)).code, 0);

  const tampered = join(dir('tandem-coord-tampered-'), 'b');
  cpSync(backupDir, tampered, { recursive: true });
  const bytes = readFileSync(join(tampered, 'coordinator.db'));
  bytes[4096 + 200] = bytes[4096 + 200]! ^ 0xff;
  writeFileSync(join(tampered, 'coordinator.db'), bytes);
  const empty = dir('tandem-coord-target-');
  const t = await admin(['restore', '--from', tampered], empty);
  assert.equal(t.code, 1);
  assert.match(t.err, /does not match its manifest/);
  assert.deepEqual(readdirSync(empty), []);

  const occupied = await admin(['restore', '--from', backupDir], ctx.dir);
  assert.equal(occupied.code, 1);
  assert.match(occupied.err, /already has a database .*--force/);
  const open = await admin(['restore', '--from', backupDir, '--force'], ctx.dir);
  assert.equal(open.code, 1);
  assert.match(open.err, /open in another process/);

  await ctx.close();
  contexts.splice(contexts.indexOf(ctx), 1);
  const before = sha256File(join(ctx.dir, 'coordinator.db'));
  const forced = await admin(['restore', '--from', backupDir, '--force'], ctx.dir);
  assert.equal(forced.code, 0, forced.err);
  const kept = (JSON.parse(forced.out) as { replacedInto: string }).replacedInto;
  assert.equal(sha256File(join(kept, 'coordinator.db')), before);
});

test('a backup of a database whose audit chain is broken says so, and restoring it is refused', async () => {
  const { ctx } = await populated();
  await ctx.store.run(`UPDATE audit_log SET details = '{"name":"Other"}' WHERE action = 'wallet.created'`);
  const backupDir = join(dir('tandem-coord-backups-'), 'b');
  const b = await admin(['backup', '--out', backupDir], ctx.dir);
  assert.equal(b.code, 1); // written (it is evidence), but flagged
  assert.match(b.err, /audit log does not verify/);
  assert.equal((JSON.parse(b.out) as BackupManifest).audit.ok, false);

  const target = dir('tandem-coord-target-');
  const r = await admin(['restore', '--from', backupDir], target);
  assert.equal(r.code, 1);
  assert.match(r.err, /audit log does not verify \(entry \d+: hash does not match/);
  assert.deepEqual(readdirSync(target), []);
});
