// The signing failures that matter most (PROTOCOL.md §8.4, §9, §13.2), through real sessions:
// a bad c3 is refused before decryption; a valid c3 with a wrong plaintext is a Class B
// failure that says only E_SIGNING_FAILED and asks for a freeze; nothing after that decrypts.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { TecdsaError } from '../src/errors.ts';
import { bytesToHex } from '../src/bytes.ts';
import { signEnvelope, type Envelope } from '../src/envelope.ts';
import { encodeSign5 } from '../src/messages.ts';
import { encrypt } from '../src/paillier.ts';
import { TEST } from '../src/params.ts';
import { seededRng } from '../src/rng.ts';
import { runDkg, type DkgRun, type LocalParties } from '../src/runLocal.ts';
import { P1Signer, P2Signer } from '../src/sign.ts';
import { parties, ringPedersenFor } from './helpers.ts';

let l: LocalParties;
let dkg: DkgRun;
before(async () => {
  l = parties(TEST, seededRng('sign-neg'));
  dkg = await runDkg(l, ringPedersenFor(TEST), { requestId: l.rng.bytes(32), walletId: l.rng.bytes(32) });
});

const isCode = (code: string) => (e: unknown) => e instanceof TecdsaError && e.code === code;

/** Drives honest P1/P2 up to P2's SIGN-5; returns both sessions and that envelope. */
async function toSign5(m32p1?: Uint8Array) {
  const m32 = l.rng.bytes(32);
  const requestId = l.rng.bytes(32);
  const base = { rng: l.rng, modPow: l.modPow, profile: TEST, now: () => 0, requestId };
  let pending = 0;
  const p1 = new P1Signer({
    ...base,
    m32: m32p1 ?? m32,
    identity: l.p1,
    peerPublicKey: l.p2.publicKey,
    share: dkg.share1,
    beforeDecrypt: () => void pending++,
  });
  const p2 = new P2Signer({ ...base, m32, identity: l.p2, peerPublicKey: l.p1.publicKey, share: dkg.share2 });
  const s2 = await p1.receive(p2.start().send!);
  const s3 = await p2.receive(s2.send!);
  const s4 = await p1.receive(s3.send!);
  const s5 = await p2.receive(s4.send!);
  return { p1, p2, sign5: s5.send!, pendingWrites: () => pending };
}

const forgeSign5 = (like: Envelope, c3: bigint): Envelope =>
  signEnvelope(l.p2, { ...like, body: encodeSign5({ c3 }, dkg.share2.N) });

test('rejects c3 ∈ {0, N, 2N, a multiple of p} with E_CIPHERTEXT before any decryption or pending marker', async () => {
  const { N } = dkg.share1.paillier;
  for (const c3 of [0n, N, 2n * N, dkg.share1.paillier.p * 5n]) {
    const { p1, sign5, pendingWrites } = await toSign5();
    await assert.rejects(p1.receive(forgeSign5(sign5, c3)), isCode('E_CIPHERTEXT'));
    assert.equal(p1.decryptions, 0);
    assert.equal(pendingWrites(), 0);
  }
});

test('c3 · Enc(1) is a Class B failure: E_SIGNING_FAILED, freezeKey, no secret in the error, then E_UNEXPECTED', async () => {
  const { p1, sign5 } = await toSign5();
  const honest = await (async () => {
    const { c3 } = (await import('../src/messages.ts')).decodeSign5(sign5.body, dkg.share2.N);
    return c3;
  })();
  const bad = (honest * encrypt(l.modPow, { N: dkg.share2.N, N2: dkg.share2.N ** 2n }, 1n, 7n)) % dkg.share2.N ** 2n;
  let err: TecdsaError | undefined;
  await assert.rejects(
    p1.receive(forgeSign5(sign5, bad)),
    (e) => ((err = e as TecdsaError), isCode('E_SIGNING_FAILED')(e)),
  );
  assert.equal(err!.freezeKey, true);
  assert.equal(p1.decryptions, 1);
  assert.doesNotMatch(err!.message + JSON.stringify(err!.details), /[0-9a-f]{16,}|\d{12,}/);
  await assert.rejects(p1.receive(sign5), isCode('E_UNEXPECTED'));
  assert.equal(p1.decryptions, 1);
});

test('a byte-identical SIGN-5 after success returns the cached SIGN-6 with no second decryption', async () => {
  const { p1, sign5 } = await toSign5();
  const first = await p1.receive(sign5);
  const again = await p1.receive(sign5);
  assert.equal(bytesToHex(again.send!.body), bytesToHex(first.send!.body));
  assert.equal(p1.decryptions, 1);
});

test('a different second SIGN-5 is E_EQUIVOCATION with no second decryption', async () => {
  const { p1, sign5 } = await toSign5();
  await p1.receive(sign5);
  const other = forgeSign5(sign5, dkg.share2.N + 1n);
  await assert.rejects(p1.receive(other), isCode('E_EQUIVOCATION'));
  assert.equal(p1.decryptions, 1);
});

test('beforeDecrypt refusing (key frozen) stops before decryption', async () => {
  const m32 = l.rng.bytes(32);
  const base = { rng: l.rng, modPow: l.modPow, profile: TEST, now: () => 0, requestId: l.rng.bytes(32), m32 };
  const p1 = new P1Signer({
    ...base,
    identity: l.p1,
    peerPublicKey: l.p2.publicKey,
    share: dkg.share1,
    beforeDecrypt: () => {
      throw new TecdsaError('E_KEY_FROZEN', 'key is frozen');
    },
  });
  const p2 = new P2Signer({ ...base, identity: l.p2, peerPublicKey: l.p1.publicKey, share: dkg.share2 });
  const s3 = await p2.receive((await p1.receive(p2.start().send!)).send!);
  const s5 = await p2.receive((await p1.receive(s3.send!)).send!);
  await assert.rejects(p1.receive(s5.send!), isCode('E_KEY_FROZEN'));
  assert.equal(p1.decryptions, 0);
});

test('m32 differing between P1 and P2 is E_MSG_MISMATCH at SIGN-1', async () => {
  await assert.rejects(toSign5(new Uint8Array(32)), isCode('E_MSG_MISMATCH'));
});

test('an envelope signed by a third key is E_AUTH and leaves the session usable', async () => {
  const m32 = l.rng.bytes(32);
  const base = { rng: l.rng, modPow: l.modPow, profile: TEST, now: () => 0, requestId: l.rng.bytes(32), m32 };
  const p1 = new P1Signer({ ...base, identity: l.p1, peerPublicKey: l.p2.publicKey, share: dkg.share1 });
  const p2 = new P2Signer({ ...base, identity: l.p2, peerPublicKey: l.p1.publicKey, share: dkg.share2 });
  const sign1 = p2.start().send!;
  const intruder = signEnvelope(l.p1, sign1); // right fields, wrong signer
  await assert.rejects(p1.receive(intruder), isCode('E_AUTH'));
  assert.ok((await p1.receive(sign1)).send);
});
