// Crash safety (PROTOCOL.md §6.2, §9.2 class D, §9.3): the signer runs as a child process
// (`node src/main.ts`) and is killed with SIGKILL in the middle of a DKG and of a signing. After a
// restart nothing half-done is usable or resumable: the DKG left no keyset, the signing session is
// gone and its permit stays spent, and neither froze a key. A DECRYPT_PENDING marker without a
// result is the one crash outcome that freezes the keyset. The data and the audit chain survive.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { P2Keygen } from '@tandem/tecdsa/keygen';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { KeysetStatus, type Keyset } from '@tandem/proto/mpc';
import { AuditLog } from '@tandem/common/auditLog';
import {
  Device,
  call,
  devPermitKey,
  envBytes,
  issuePermit,
  mp,
  parseEnv,
  readDb,
  refused,
  ringPedersen,
  signThrough,
  signUpToSign5,
  startChildSigner,
  tempDir,
  type ChildSigner,
} from './harness.ts';

const dataDir = tempDir('tandem-crash-');
let child: ChildSigner;
let device: Device;
let identity: string;
/** Keysets created so far: id → address. */
const created = new Map<string, string>();
const message = Buffer.from('crash tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };
const permit = (keysetId: string) => issuePermit(devPermitKey(dataDir), { keysetId, txHash: m32 });

/** Reads the database with a connection of our own, closed again before the daemon is touched. */
function query<T>(fn: (db: Database.Database) => T): T {
  const db = readDb(dataDir);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

async function keysetStatus(keysetId: string): Promise<KeysetStatus> {
  return (await call<{ keyset: Keyset }>(child.client, 'getKeyset', { keysetId })).keyset.status;
}

/** Starts the daemon again on the same data directory; it must come back with the same identity. */
async function restart(): Promise<void> {
  child = await startChildSigner(dataDir);
  const info = await call<{ identityPublicKey: Buffer }>(child.client, 'getSignerInfo', {});
  assert.equal(info.identityPublicKey.toString('hex'), identity);
}

/** SIGKILL: no shutdown code runs. */
async function crash(): Promise<void> {
  await child.kill();
  assert.equal(child.proc.signalCode, 'SIGKILL');
}

before(async () => {
  child = await startChildSigner(dataDir);
  const info = await call<{ identityPublicKey: Buffer }>(child.client, 'getSignerInfo', {});
  identity = info.identityPublicKey.toString('hex');
  device = new Device(info.identityPublicKey);
  const k = await device.dkg(child.client, 'crash-base');
  created.set('crash-base', k.address);
});
after(async () => {
  await child?.kill();
  rmSync(dataDir, { recursive: true, force: true }); // holds a KEK and shares
});

test('(a) killed after KG-3: no keyset, the DKG is ABANDONED, the old session is gone, a fresh DKG works', async () => {
  const walletId = randomBytes(32);
  const p2 = new P2Keygen(
    {
      identity: device.identity,
      peerPublicKey: device.signerKey,
      requestId: randomBytes(32),
      rng: systemRng,
      modPow: mp,
      now: Date.now,
      profile: FULL,
      walletId,
    },
    ringPedersen(),
  );
  const kg1 = p2.start().send!;
  const s = await call<{ sessionId: string; envelope: Buffer }>(child.client, 'startDkg', {
    keysetId: 'crash-a',
    walletId,
    devicePublicKey: Buffer.from(device.identity.publicKey),
    envelope: envBytes(kg1),
  });
  const kg3 = (await p2.receive(parseEnv(s.envelope))).send!;
  const r = await call<{ envelope: Buffer }>(child.client, 'dkgRound', {
    sessionId: s.sessionId,
    envelope: envBytes(kg3),
  });
  const kg5 = (await p2.receive(parseEnv(r.envelope))).send!; // the desktop is done; the signer never sees KG-5

  await crash();
  await restart();

  assert.equal(
    query((db) => db.prepare("SELECT 1 FROM keysets WHERE keyset_id = 'crash-a'").get()),
    undefined,
    'no keyset row',
  );
  await refused(call(child.client, 'getKeyset', { keysetId: 'crash-a' }), 'KEYSET_NOT_FOUND');
  assert.deepEqual(
    query((db) => ({
      ...(db
        .prepare('SELECT state, error_code, keyset_id FROM dkg_sessions WHERE request_id = ?')
        .get(kg1.requestId) as object),
    })),
    { state: 'ABANDONED', error_code: 'RESTART', keyset_id: 'crash-a' },
  );
  // Not even the desktop's correct KG-5 completes the old session: it died with the process.
  await refused(
    call(child.client, 'finalizeDkg', { sessionId: s.sessionId, envelope: envBytes(kg5) }),
    'SESSION_NOT_FOUND',
  );
  await refused(call(child.client, 'getKeyset', { keysetId: 'crash-a' }), 'KEYSET_NOT_FOUND');

  const k = await device.dkg(child.client, 'crash-a');
  assert.equal(k.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
  created.set('crash-a', k.address);
});

let signedSessionId: string;

test('(b) killed after SIGN-3: the keyset stays ACTIVE, the session is ABANDONED and gone, its permit stays spent', async () => {
  const spent = permit('crash-a');
  const { sessionId, sign5 } = await signUpToSign5(child.client, device, 'crash-a', m32, payload, spent);

  await crash();
  await restart();

  assert.equal(
    await keysetStatus('crash-a'),
    KeysetStatus.KEYSET_STATUS_ACTIVE,
    'a crash before decryption never freezes',
  );
  assert.deepEqual(
    query((db) => ({
      ...(db
        .prepare('SELECT state, error_code FROM sign_sessions WHERE request_id = ?')
        .get(sign5.requestId) as object),
    })),
    { state: 'ABANDONED', error_code: 'RESTART' },
  );
  await refused(call(child.client, 'finalizeSigning', { sessionId, envelope: envBytes(sign5) }), 'SESSION_NOT_FOUND');
  await refused(signThrough(child.client, device, 'crash-a', m32, payload, spent), 'PERMIT_REPLAYED');

  const fresh = permit('crash-a');
  const { signature } = await signThrough(child.client, device, 'crash-a', m32, payload, fresh);
  assert.ok(signature.r > 0n);
  const row = query(
    (db) =>
      db.prepare('SELECT session_id, state FROM sign_sessions WHERE permit_id = ?').get(fresh.permitId) as {
        session_id: string;
        state: string;
      },
  );
  assert.equal(row.state, 'SIGNED');
  signedSessionId = row.session_id;
  assert.equal(await keysetStatus('crash-base'), KeysetStatus.KEYSET_STATUS_ACTIVE);
});

test('(c) a DECRYPT_PENDING marker without a result freezes its keyset at start-up (class D)', async () => {
  assert.equal(await child.stop(), 0, 'graceful stop');
  // Exactly what a crash between the marker and the result leaves behind.
  const rw = new Database(join(dataDir, 'signer.db'));
  const changed = rw
    .prepare(
      "UPDATE sign_sessions SET state = 'DECRYPT_PENDING', error_code = NULL, ended_at_ms = NULL WHERE session_id = ? AND state = 'SIGNED'",
    )
    .run(signedSessionId).changes;
  rw.close();
  assert.equal(changed, 1);

  await restart();

  assert.equal(await keysetStatus('crash-a'), KeysetStatus.KEYSET_STATUS_FROZEN);
  assert.equal(await keysetStatus('crash-base'), KeysetStatus.KEYSET_STATUS_ACTIVE, 'other keysets are untouched');
  await refused(signThrough(child.client, device, 'crash-a', m32, payload, permit('crash-a')), 'KEYSET_FROZEN');
  const { keyset, session, audit } = query((db) => ({
    keyset: db.prepare("SELECT status, failures FROM keysets WHERE keyset_id = 'crash-a'").get(),
    session: db.prepare('SELECT state, error_code FROM sign_sessions WHERE session_id = ?').get(signedSessionId),
    audit: db.prepare("SELECT actor, subject, details FROM audit_log WHERE action = 'keyset.frozen'").all() as {
      actor: string;
      subject: string;
      details: string;
    }[],
  }));
  assert.deepEqual({ ...(keyset as object) }, { status: 'FROZEN', failures: 1 });
  assert.deepEqual({ ...(session as object) }, { state: 'FROZE', error_code: 'UNKNOWN_OUTCOME' });
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.subject, 'crash-a');
  const details = JSON.parse(audit[0]!.details) as Record<string, unknown>;
  assert.equal(details.sessionId, signedSessionId);
  assert.equal(details.reason, 'UNKNOWN_OUTCOME');
  // The operator sees why in the log.
  assert.match(child.output.stdout, /keyset frozen at start-up/);
});

test('(d) after every restart the keysets are intact and the audit chain verifies', async () => {
  assert.equal(await child.stop(), 0, 'graceful stop');
  const stoppedHead = child.output.stdout
    .split('\n')
    .filter((l) => l.includes('"signer stopped"'))
    .map((l) => (JSON.parse(l) as { auditHead: string }).auditHead)
    .pop();
  query((db) => {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const rows = db.prepare('SELECT keyset_id, address, status FROM keysets ORDER BY keyset_id').all();
    assert.deepEqual(
      rows.map((r) => ({ ...(r as object) })),
      [
        { keyset_id: 'crash-a', address: created.get('crash-a'), status: 'FROZEN' },
        { keyset_id: 'crash-base', address: created.get('crash-base'), status: 'ACTIVE' },
      ],
    );
    const verdict = new AuditLog(db, Date.now).verify();
    if (!verdict.ok) assert.fail(`audit chain broken: ${JSON.stringify(verdict)}`);
    assert.equal(verdict.entries, db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get());
    assert.equal(verdict.head, stoppedHead, 'the head the daemon logged at shutdown');
    const actions = (
      db.prepare('SELECT action, subject FROM audit_log ORDER BY seq').all() as { action: string; subject: string }[]
    )
      .filter((e) => e.action.startsWith('keyset.'))
      .map((e) => `${e.action} ${e.subject}`);
    assert.deepEqual(actions, ['keyset.created crash-base', 'keyset.created crash-a', 'keyset.frozen crash-a']);
    const open = db
      .prepare(
        "SELECT (SELECT COUNT(*) FROM dkg_sessions WHERE state = 'RUNNING') + (SELECT COUNT(*) FROM sign_sessions WHERE state IN ('RUNNING', 'DECRYPT_PENDING'))",
      )
      .pluck()
      .get();
    assert.equal(open, 0, 'no session is left open after a graceful stop');
  });
  // And it starts once more on the same data.
  await restart();
  assert.equal(await keysetStatus('crash-base'), KeysetStatus.KEYSET_STATUS_ACTIVE);
});
