// The Sign stream (mpc.proto): the three signing steps on one call, in order, one at a time. The
// session is the stream's: a stream that is cancelled or closed before SIGN-5 abandons it at once,
// one whose SIGN-5 was handed over is left to finish and record its signature.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { signatureMatches } from '@tandem/tecdsa/sign';
import { SigningState, type SigningPermit } from '@tandem/proto/mpc';
import {
  call,
  Device,
  devPermitKey,
  envBytes,
  issuePermit,
  openSigning,
  parseEnv,
  readDb,
  refused,
  signerWithKeyset,
  stopTestSigner,
  type TestSigner,
} from './harness.ts';

let t: TestSigner;
let device: Device;
const KS = 'stream-ks';
const message = Buffer.from('sign stream tests');
const m32 = txDigest({ type: 'personal', message });

before(async () => ({ t, device } = await signerWithKeyset(KS)));
after(() => stopTestSigner(t));

const permit = () => issuePermit(devPermitKey(t.dataDir), { keysetId: KS, txHash: m32 });

/** Opens a stream and runs its start step with an honest P2. */
async function started(p: SigningPermit = permit()) {
  const s = openSigning(t.client);
  const p2 = device.signer(m32);
  const first = await s.start({
    keysetId: KS,
    permit: p,
    personalMessage: message,
    envelope: envBytes(p2.start().send!),
  });
  return { s, p2, sessionId: first.sessionId, sign2: first.envelope, permit: p };
}

function sessionRow(sessionId: string): { state: string; error_code: string | null; signature: Buffer | null } {
  const db = readDb(t.dataDir);
  try {
    return db.prepare('SELECT state, error_code, signature FROM sign_sessions WHERE session_id = ?').get(sessionId) as {
      state: string;
      error_code: string | null;
      signature: Buffer | null;
    };
  } finally {
    db.close();
  }
}

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const result = (permitId: string) => call<{ state: SigningState }>(t.client, 'getSigningResult', { permitId });

test('a whole signing on one stream: the signature verifies and is recorded', async () => {
  const { s, p2, sessionId, sign2 } = await started();
  const sign3 = (await p2.receive(parseEnv(sign2))).send!;
  const sign5 = (await p2.receive(parseEnv(await s.round(envBytes(sign3))))).send!;
  const done = await s.finalize(envBytes(sign5));
  const sig = (await p2.receive(parseEnv(done.envelope))).result!;
  assert.ok(signatureMatches(sig, m32, device.share!.Q));
  assert.equal(Buffer.from(done.signature!.r).toString('hex'), sig.r.toString(16).padStart(64, '0'));
  assert.equal(sessionRow(sessionId).state, 'SIGNED');
  // The stream is over: a further step is refused without reaching the signer.
  await assert.rejects(s.round(envBytes(sign3)));
});

test('a stream cancelled before SIGN-5 abandons its session at once', async () => {
  const { s, sessionId, permit: p } = await started();
  s.cancel();
  await until(() => sessionRow(sessionId).state !== 'RUNNING');
  assert.deepEqual(
    { ...sessionRow(sessionId), signature: null },
    {
      state: 'ABANDONED',
      error_code: 'CALLER_LEFT',
      signature: null,
    },
  );
  assert.equal((await result(p.permitId)).state, SigningState.SIGNING_STATE_ENDED);
});

test('steps out of order are refused and end the session', async () => {
  const { s, p2, sessionId, sign2 } = await started();
  const sign3 = (await p2.receive(parseEnv(sign2))).send!;
  // SIGN-3 sent as the finalize step: refused before it reaches the session.
  await refused(s.finalize(envBytes(sign3)), 'BAD_REQUEST');
  await until(() => sessionRow(sessionId).state !== 'RUNNING');
  assert.equal(sessionRow(sessionId).state, 'ABANDONED');

  const other = openSigning(t.client);
  await refused(other.round(envBytes(sign3)), 'BAD_REQUEST'); // no start yet
});

test("a refused start ends the stream with the signer's code, and the permit stays unspent", async () => {
  const p = permit();
  const s = openSigning(t.client);
  const bad = { ...p, mac: Buffer.alloc(32) };
  const p2 = device.signer(m32);
  const env = envBytes(p2.start().send!);
  await refused(s.start({ keysetId: KS, permit: bad, personalMessage: message, envelope: env }), 'PERMIT_INVALID');
  await refused(s.start({ keysetId: KS, permit: p, personalMessage: message, envelope: env }), 'PERMIT_INVALID');
  // The honest permit was never spent: it still opens a session on a new stream.
  const again = await started(p);
  again.s.cancel();
});

test('SIGN-5 handed over: a cancelled stream never abandons the session, the signature is recorded', async () => {
  const { s, p2, sessionId, sign2, permit: p } = await started();
  const sign3 = (await p2.receive(parseEnv(sign2))).send!;
  const sign5 = (await p2.receive(parseEnv(await s.round(envBytes(sign3))))).send!;
  const answer = s.finalize(envBytes(sign5)).catch(() => undefined);
  await until(() => sessionRow(sessionId).state !== 'RUNNING'); // decryption began (or already ended)
  s.cancel();
  await answer;
  await until(() => sessionRow(sessionId).state === 'SIGNED');
  const r = await call<{ state: SigningState; signature: { r: Buffer } }>(t.client, 'getSigningResult', {
    permitId: p.permitId,
  });
  assert.equal(r.state, SigningState.SIGNING_STATE_SIGNED);
  assert.equal(r.signature.r.length, 32);
});
