// Runs a whole DKG and one signing in one process, relaying envelopes between the two
// parties (as the coordinator would). Used by the demo CLI, the benchmark and the tests.

import { type Envelope, type Identity, identityFromSeed } from './envelope.ts';
import { type ModPow } from './arith.ts';
import { type Rng } from './rng.ts';
import { type Profile } from './params.ts';
import { type PaillierSecretKey } from './paillier.ts';
import { type RingPedersenSecret } from './ringPedersen.ts';
import { P1Keygen, P2Keygen } from './keygen.ts';
import { P1Signer, P2Signer, type Signature } from './sign.ts';
import { type P1Share, type P2Share } from './shares.ts';
import { type Session } from './session.ts';

export interface LocalParties {
  p1: Identity;
  p2: Identity;
  rng: Rng;
  modPow: ModPow;
  /** P2's backend when it is not P1's (a desktop exponentiates on its own thread, the signer on a pool). */
  p2ModPow?: ModPow;
  profile: Profile;
  now?: () => number;
}

/**
 * Both parties in this process with fresh identities: the reference the services' benchmarks
 * compare with, each party on the backend it runs on in the product.
 */
export function freshParties(modPow: ModPow, profile: Profile, rng: Rng, p2ModPow?: ModPow): LocalParties {
  return { p1: identityFromSeed(rng.bytes(32)), p2: identityFromSeed(rng.bytes(32)), rng, modPow, p2ModPow, profile };
}

type Ms = Record<'P1' | 'P2', number>;

/** Relays `first` between the two sessions until neither has anything to send; returns their results. */
async function relay<A, B>(first: Envelope, P1: Session<A>, P2: Session<B>, log: Envelope[], ms: Ms) {
  const results: { P1?: A; P2?: B } = {};
  let next: Envelope | undefined = first;
  while (next) {
    log.push(next);
    const t0 = performance.now();
    if (next.to === 'P1') {
      const step = await P1.receive(next);
      if (step.result !== undefined) results.P1 = step.result;
      next = step.send;
    } else {
      const step = await P2.receive(next);
      if (step.result !== undefined) results.P2 = step.result;
      next = step.send;
    }
    ms[log[log.length - 1]!.to] += performance.now() - t0;
  }
  return results;
}

export interface DkgRun {
  share1: P1Share;
  share2: P2Share;
  envelopes: Envelope[];
  /** compute per party, ms */
  ms: Ms;
}

export async function runDkg(
  l: LocalParties,
  rp: RingPedersenSecret,
  ids: { requestId: Uint8Array; walletId: Uint8Array },
  extra: { x1?: bigint; x2?: bigint; paillier?: PaillierSecretKey } = {},
): Promise<DkgRun> {
  const now = l.now ?? (() => 0);
  const base = { rng: l.rng, modPow: l.modPow, profile: l.profile, now, ...ids };
  const p1 = new P1Keygen(
    { ...base, identity: l.p1, peerPublicKey: l.p2.publicKey, testOnlyShare: extra.x1 },
    extra.paillier,
  );
  const p2 = new P2Keygen(
    { ...base, modPow: l.p2ModPow ?? l.modPow, identity: l.p2, peerPublicKey: l.p1.publicKey, testOnlyShare: extra.x2 },
    rp,
  );
  const envelopes: Envelope[] = [];
  const ms = { P1: 0, P2: 0 };
  const t0 = performance.now();
  const first = p2.start().send!;
  ms.P2 += performance.now() - t0;
  const { P1: share1, P2: share2 } = await relay(first, p1, p2, envelopes, ms);
  if (!share1 || !share2) throw new Error('DKG did not complete');
  return { share1, share2, envelopes, ms };
}

export interface SignRun {
  signature: Signature;
  envelopes: Envelope[];
  ms: Ms;
}

export async function runSign(
  l: LocalParties,
  shares: { share1: P1Share; share2: P2Share },
  m32: Uint8Array,
  requestId: Uint8Array,
  extra: { k1?: bigint; k2?: bigint; encryptionMask?: bigint } = {},
): Promise<SignRun> {
  const now = l.now ?? (() => 0);
  const base = { rng: l.rng, modPow: l.modPow, profile: l.profile, now, requestId, m32 };
  const p1 = new P1Signer({
    ...base,
    identity: l.p1,
    peerPublicKey: l.p2.publicKey,
    share: shares.share1,
    testOnlyNonce: extra.k1,
  });
  const p2 = new P2Signer({
    ...base,
    modPow: l.p2ModPow ?? l.modPow,
    identity: l.p2,
    peerPublicKey: l.p1.publicKey,
    share: shares.share2,
    testOnlyNonce: extra.k2,
    encryptionMask: extra.encryptionMask,
  });
  const envelopes: Envelope[] = [];
  const ms = { P1: 0, P2: 0 };
  const t0 = performance.now();
  const first = p2.start().send!;
  ms.P2 += performance.now() - t0;
  const { P2: signature } = await relay(first, p1, p2, envelopes, ms);
  if (!signature) throw new Error('signing did not complete');
  return { signature, envelopes, ms };
}
