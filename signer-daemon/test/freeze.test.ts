// Failing closed (PROTOCOL.md §9): a tampered c3 freezes the keyset durably, no later session
// decrypts, the freeze survives a restart, and only the admin CLI unfreezes it, with an audit entry.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { decodeSign5, encodeSign5 } from '@tandem/tecdsa/messages';
import { signEnvelope } from '@tandem/tecdsa/envelope';
import { encrypt } from '@tandem/tecdsa/paillier';
import { uniformUnit, systemRng } from '@tandem/tecdsa/rng';
import { KeysetStatus } from '@tandem/proto/mpc';
import {
  call,
  Device,
  devPermitKey,
  envBytes,
  issuePermit,
  mp,
  refused,
  signerWithKeyset,
  signThrough,
  signUpToSign5,
  startTestSigner,
  stopTestSigner,
  type TestSigner,
} from './harness.ts';
import { runAdmin } from '../src/cli/admin.ts';

let t: TestSigner;
let device: Device;
const KS = 'freeze-ks';
const message = Buffer.from('freeze tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };

before(async () => ({ t, device } = await signerWithKeyset(KS)));
after(() => stopTestSigner(t));

const permit = () => issuePermit(devPermitKey(t.dataDir), { keysetId: KS, txHash: m32 });
const status = async () =>
  (await call<{ keyset: { status: KeysetStatus; failures?: number } }>(t.client, 'getKeyset', { keysetId: KS })).keyset
    .status;
const sessionRows = () =>
  t.signer.ctx.db.prepare('SELECT state, error_code FROM sign_sessions WHERE keyset_id = ?').all(KS) as {
    state: string;
    error_code: string | null;
  }[];
const admin = (args: string[]) => {
  const lines: string[] = [];
  let code: number;
  try {
    code = runAdmin(args, { ...process.env, TANDEM_SIGNER_DATA_DIR: t.dataDir }, (s) => void lines.push(s));
  } catch {
    code = 2;
  }
  return { code, out: lines.join('\n') };
};

/** SIGN-5 with c3 · Enc(1): a valid ciphertext of the wrong plaintext, signed by the device. */
async function tamperedC3(): Promise<{ sessionId: string; bad: Buffer }> {
  const { sessionId, sign5 } = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  const N = device.share!.N;
  const N2 = N * N;
  const { c3 } = decodeSign5(sign5.body, N);
  const c3bad = (c3 * encrypt(mp, { N, N2 }, 1n, uniformUnit(systemRng, N))) % N2;
  const { sig: _sig, ...unsigned } = sign5;
  void _sig;
  const bad = signEnvelope(device.identity, { ...unsigned, body: encodeSign5({ c3: c3bad }, N) });
  return { sessionId, bad: envBytes(bad) };
}

test('a tampered c3 freezes the keyset before the reply; the error holds no secret', async () => {
  // Two sessions in flight: the second must not decrypt once the first froze the key.
  const first = await tamperedC3();
  const second = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  const e = await refused(
    call(t.client, 'finalizeSigning', { sessionId: first.sessionId, envelope: first.bad }),
    'E_SIGNING_FAILED',
  );
  assert.doesNotMatch(e.message, /[0-9a-f]{32,}|\d{20,}/i, 'no long numbers in the error');
  assert.equal(await status(), KeysetStatus.KEYSET_STATUS_FROZEN);
  await refused(
    call(t.client, 'finalizeSigning', { sessionId: second.sessionId, envelope: envBytes(second.sign5) }),
    'E_KEY_FROZEN',
  );
  const rows = sessionRows();
  assert.equal(rows.filter((r) => r.state === 'FROZE').length, 1);
  assert.equal(rows.filter((r) => r.state === 'DECRYPT_PENDING').length, 0);
  await refused(signThrough(t.client, device, KS, m32, payload, permit()), 'KEYSET_FROZEN');
  assert.match(t.signer.ctx.metrics.render(), /signer_keyset_freezes_total 1/);
});

test('the freeze survives a restart and still nothing decrypts', async () => {
  t.client.close();
  await t.signer.close();
  t = await startTestSigner(t.dataDir);
  assert.equal(await status(), KeysetStatus.KEYSET_STATUS_FROZEN);
  await refused(signThrough(t.client, device, KS, m32, payload, permit()), 'KEYSET_FROZEN');
  assert.equal(sessionRows().filter((r) => r.state === 'SIGNED').length, 0);
});

test('the admin CLI unfreezes with a reason, audited; signing works again', async () => {
  assert.equal(admin(['unfreeze', KS]).code, 2, 'a reason is required'); // usage error
  const r = admin(['unfreeze', KS, '--reason', 'reviewed session evidence: test-induced c3', '--operator', 'alice']);
  assert.equal(r.code, 0);
  assert.equal(await status(), KeysetStatus.KEYSET_STATUS_ACTIVE);
  const entries = t.signer.ctx.audit.entries().filter((e) => e.subject === KS);
  assert.deepEqual(
    entries.map((e) => e.action),
    ['keyset.created', 'permit.accepted', 'permit.accepted', 'keyset.frozen', 'keyset.unfrozen'],
  );
  const unfrozen = entries.find((e) => e.action === 'keyset.unfrozen')!;
  assert.equal(unfrozen.actor, 'alice');
  assert.match(String(unfrozen.details.reason), /reviewed/);
  assert.equal(admin(['verify-audit']).code, 0);
  const { signature } = await signThrough(t.client, device, KS, m32, payload, permit());
  assert.ok(signature.r > 0n);
});

test('a second failure past decryption retires the keyset for good', async () => {
  const bad = await tamperedC3();
  await refused(call(t.client, 'finalizeSigning', { sessionId: bad.sessionId, envelope: bad.bad }), 'E_SIGNING_FAILED');
  assert.equal(await status(), KeysetStatus.KEYSET_STATUS_RETIRED);
  assert.notEqual(admin(['unfreeze', KS, '--reason', 'trying to bring a retired key back']).code, 0);
  await refused(signThrough(t.client, device, KS, m32, payload, permit()), 'KEYSET_RETIRED');
});
