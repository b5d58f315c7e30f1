// runSigning (src/p2/sessions.ts) against a scripted coordinator that relays to tecdsa's real P1 in this process
// (the reduced test profile): how the desktop takes SIGN-6. A coordinator sends it ahead (sign_result) and then in
// sign_complete; P2 checks it from the first, but the signing is done only with the reply, which must carry the same
// envelope. An older coordinator that sends no sign_result still works, and an error after SIGN-6 went ahead (the
// coordinator refused to store it) is the signing's outcome.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { envelopeToJson, identityFromSeed, parseEnvelope, type Identity } from '@tandem/tecdsa/envelope';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { TEST } from '@tandem/tecdsa/params';
import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { seededRng, systemRng } from '@tandem/tecdsa/rng';
import { runDkg, type DkgRun } from '@tandem/tecdsa/runLocal';
import { P1Signer, signatureMatches } from '@tandem/tecdsa/sign';
import { encodeP2Share } from '@tandem/tecdsa/shares';
import { runSigning } from '../src/p2/sessions.ts';
import { type CoordinatorSocket } from '../src/p2/coordinatorSocket.ts';
import { type OutgoingMessage, type SignResultFrame } from '../src/p2/frames.ts';
import { P2Error } from '../src/p2/errors.ts';

const mp = nativeModPow()!;
let bank: Identity;
let device: Identity;
let dkg: DkgRun;

before(async () => {
  bank = identityFromSeed(randomBytes(32));
  device = identityFromSeed(randomBytes(32));
  const rp = generateRingPedersen(mp, seededRng('signing-rp'), TEST.nHatBits);
  dkg = await runDkg({ p1: bank, p2: device, rng: systemRng, modPow: mp, profile: TEST }, rp, {
    requestId: randomBytes(32),
    walletId: randomBytes(32),
  });
});

type Sign6 = 'ahead' | 'reply only' | 'ahead, then a different reply' | 'ahead, then an error';

/** A coordinator on the desktop's side of the socket: P1 answers each round; SIGN-6 is delivered as `sign6` says. */
function scriptedCoordinator(m32: Uint8Array, sign6: Sign6): { socket: CoordinatorSocket; aheadSent: () => boolean } {
  let p1: P1Signer | undefined;
  let aheadSent = false;
  const socket = {
    async request(msg: OutgoingMessage, _expect: string, opts: { onAhead?: (f: SignResultFrame) => void } = {}) {
      const env = parseEnvelope(msg.envelope);
      p1 ??= new P1Signer({
        identity: bank,
        peerPublicKey: device.publicKey,
        requestId: env.requestId,
        rng: systemRng,
        modPow: mp,
        now: Date.now,
        profile: TEST,
        m32,
        share: dkg.share1,
      });
      const step = await p1.receive(env);
      const envelope = envelopeToJson(step.send!);
      if (step.result === undefined) return { type: 'sign_round', id: 'r', sessionId: 's1', envelope };
      if (sign6 !== 'reply only') {
        aheadSent = true;
        opts.onAhead?.({ type: 'sign_result', sessionId: 's1', envelope });
      }
      if (sign6 === 'ahead, then an error')
        throw new P2Error('SIGNER_REFUSED', 'the signature does not verify for this wallet', { source: 'coordinator' });
      return {
        type: 'sign_complete',
        id: 'r',
        sessionId: 's1',
        withdrawalId: 'w1',
        envelope: sign6 === 'ahead, then a different reply' ? envelope.replace('{', '{ ') : envelope,
        txHash: '0x' + 'ab'.repeat(32),
      };
    },
  };
  return { socket: socket as unknown as CoordinatorSocket, aheadSent: () => aheadSent };
}

const sign = (socket: CoordinatorSocket, m32: Uint8Array) =>
  runSigning({
    socket,
    identity: device,
    signerPublicKey: bank.publicKey,
    shareBlob: encodeP2Share(dkg.share2),
    withdrawalId: 'w1',
    digest: m32,
  });

for (const mode of ['ahead', 'reply only'] as const)
  test(`SIGN-6 ${mode === 'ahead' ? 'sent ahead and in the reply' : 'in the reply only (an older coordinator)'}: a verified signature`, async () => {
    const m32 = randomBytes(32);
    const c = scriptedCoordinator(m32, mode);
    const out = await sign(c.socket, m32);
    assert.equal(c.aheadSent(), mode === 'ahead');
    assert.ok(signatureMatches(out.signature, m32, dkg.share2.Q), 'the signature verifies for the wallet key');
    assert.equal(out.txHash, '0x' + 'ab'.repeat(32));
  });

const refusals: [Sign6, string, string][] = [
  ['ahead, then a different reply', 'BAD_FRAME', 'a reply whose SIGN-6 differs from the one sent ahead is BAD_FRAME'],
  [
    'ahead, then an error',
    'SIGNER_REFUSED',
    "an error after SIGN-6 went ahead is the signing's outcome, not a signature",
  ],
];
for (const [mode, code, title] of refusals)
  test(title, async () => {
    const m32 = randomBytes(32);
    await assert.rejects(sign(scriptedCoordinator(m32, mode).socket, m32), (e: unknown) => {
      assert.ok(e instanceof P2Error);
      assert.equal(e.code, code);
      return true;
    });
  });
