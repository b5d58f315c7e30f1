// Signing, SIGN-1..SIGN-6 (PROTOCOL.md §8), as two state machines.
// P1 holds the Paillier secret and is the one whose failures matter: after it decrypts
// P2's c3, the only exits are a verified signature or "freeze this key" (§8.4, §9).

import { TecdsaError } from './errors.ts';
import { bytesToBig, equalBytes } from './bytes.ts';
import { G, HALF_N, type Point, SECP256K1_N, modN, mulG, mulUnsafe } from './curve.ts';
import { encPt, encSc } from './encoding.ts';
import { commit, checkOpening } from './commitment.ts';
import { modInv } from './arith.ts';
import {
  decodeSign1,
  decodeSign2,
  decodeSign3,
  decodeSign4,
  decodeSign5,
  decodeSign6,
  encodeSign1,
  encodeSign2,
  encodeSign3,
  encodeSign4,
  encodeSign5,
  encodeSign6,
} from './messages.ts';
import { decrypt, isValidCiphertext } from './paillier.ts';
import { uniformBelow, uniformRange, uniformUnit } from './rng.ts';
import { D_MAX_BITS, RHO_BITS, SIGN_SESSION_TIMEOUT_MS, SIGN_STEP_TIMEOUT_MS } from './params.ts';
import { Session, type SessionOptions, type Step } from './session.ts';
import { signSid } from './sessionIds.ts';
import { proveSchnorr, verifySchnorr, type SchnorrProof } from './proofs/schnorr.ts';
import { type P1Share, type P2Share } from './shares.ts';

export interface Signature {
  readonly r: bigint;
  readonly s: bigint;
  readonly recid: 0 | 1;
}

export interface SignOptions extends SessionOptions {
  /** This party's own digest of what is being signed (never one handed over by the peer). */
  m32: Uint8Array;
  /** Test-only dealer mode (§13.1): fixes this party's nonce. Never set in production. */
  testOnlyNonce?: bigint;
}

/** r = R_x, refusing R_x ≥ q (Ethereum cannot encode recid ≥ 2; §8.2) and r = 0. */
export function rOf(R: Point): bigint {
  const { x } = R.toAffine();
  if (x >= SECP256K1_N || x === 0n) throw new TecdsaError('E_R_OVERFLOW', 'R_x ≥ q: retry with a new session');
  return x;
}

/**
 * §8.4 step 7: standard ECDSA verification (low-s) of (r, s) on m under Q, and recovery with recid
 * gives Q. Both at once, in one double multiplication: R = u1·G + u2·Q (u1 = m/s, u2 = r/s) must
 * have R.x = r exactly and R.y's parity = recid. R.x ≡ r (mod q) is the verification equation;
 * recovery with this id takes the R with x = r and this parity and returns r⁻¹·(s·R − m·G), which
 * is Q exactly when s·R = m·G + r·Q, i.e. when that R is u1·G + u2·Q. A third of the cost of the
 * two library calls, at both parties of every signing and at the coordinator.
 */
export function signatureMatches(sig: Signature, m32: Uint8Array, Q: Point): boolean {
  if (sig.r < 1n || sig.r >= SECP256K1_N || sig.s < 1n || sig.s > HALF_N) return false;
  if ((sig.recid !== 0 && sig.recid !== 1) || m32.length !== 32) return false;
  try {
    const w = modInv(sig.s, SECP256K1_N);
    const R = mulUnsafe(G, modN(bytesToBig(m32) * w)).add(mulUnsafe(Q, modN(sig.r * w)));
    if (R.is0()) return false;
    const { x, y } = R.toAffine();
    return x === sig.r && Number(y & 1n) === sig.recid;
  } catch {
    return false;
  }
}

abstract class SignSession<R> extends Session<R> {
  protected readonly kind = 'sign' as const;
  protected sid: Uint8Array | undefined;

  constructor(protected readonly sopts: SignOptions) {
    super(sopts);
    if (sopts.m32.length !== 32) throw new TecdsaError('E_INPUT', 'm32 must be 32 bytes');
    const k = sopts.testOnlyNonce;
    if (k !== undefined && (k < 1n || k >= SECP256K1_N))
      throw new TecdsaError('E_INPUT', 'dealer nonce must be in [1, q)');
  }

  protected checkTimeout(now: number): void {
    if (now - this.startedAt > SIGN_SESSION_TIMEOUT_MS)
      throw new TecdsaError('E_TIMEOUT', 'signing session took over 10 minutes');
    if (now - this.lastActivity > SIGN_STEP_TIMEOUT_MS)
      throw new TecdsaError('E_TIMEOUT', 'signing step took over 120 s');
  }

  protected nonce(): bigint {
    return this.sopts.testOnlyNonce ?? uniformRange(this.opts.rng, 1n, SECP256K1_N);
  }
}

export interface P1SignOptions extends SignOptions {
  share: P1Share;
  /**
   * Called inside SIGN-5 handling after c3 passed its checks and before decryption: the
   * caller re-checks the key is ACTIVE under its per-key lock and durably writes
   * DECRYPT_PENDING (§8.4 steps 1–3, §9.3). Throwing here (E_KEY_FROZEN) stops before decryption.
   */
  beforeDecrypt?: () => void | Promise<void>;
}

/** P1, the bank signer. Feed it SIGN-1, SIGN-3, SIGN-5; its result is the signature. */
export class P1Signer extends SignSession<Signature> {
  protected readonly self = 'P1' as const;
  private k1: bigint | undefined;
  private R1: Point | undefined;
  private pi1: SchnorrProof | undefined;
  private salt: Uint8Array | undefined;
  private R: Point | undefined;
  private r: bigint | undefined;
  /** Number of Paillier decryptions this session made (0 or 1), for audits and tests. */
  decryptions = 0;

  constructor(private readonly p1: P1SignOptions) {
    super(p1);
    this.expected = 1;
  }

  protected async handle(body: Uint8Array): Promise<Step<Signature>> {
    const o = this.opts;
    const share = this.p1.share;
    switch (this.expected) {
      case 1: {
        const m = decodeSign1(body);
        if (!equalBytes(m.keyId, share.keyId)) throw new TecdsaError('E_UNKNOWN_KEY', 'SIGN-1 names another key');
        if (!equalBytes(m.m32, this.sopts.m32))
          throw new TecdsaError('E_MSG_MISMATCH', "the desktop's digest differs from ours");
        const n1 = o.rng.bytes(32);
        this.sid = signSid(o.requestId, share.keyId, share.Q, m.m32, n1, m.n2);
        this.k1 = this.nonce();
        this.R1 = mulG(this.k1);
        this.pi1 = proveSchnorr(o.rng, this.sid, 'R1', 'P1', this.k1, this.R1);
        this.salt = o.rng.bytes(32);
        const C1 = commit(this.sid, 'R1', 'P1', [encPt(this.R1), encPt(this.pi1.A), encSc(this.pi1.z)], this.salt);
        this.expected = 3;
        return { send: this.envelope(2, encodeSign2({ n1, C1 })) };
      }
      case 3: {
        const m = decodeSign3(body);
        verifySchnorr(this.sid!, 'R2', 'P2', m.R2, m.pi2);
        this.R = m.R2.multiply(this.k1!);
        this.r = rOf(this.R);
        this.expected = 5;
        return { send: this.envelope(4, encodeSign4({ R1: this.R1!, pi1: this.pi1!, salt: this.salt! })) };
      }
      case 5: {
        const { c3 } = decodeSign5(body, share.paillier.N);
        if (!isValidCiphertext(share.paillier, c3))
          throw new TecdsaError('E_CIPHERTEXT', 'c3 is not a valid ciphertext');
        await this.p1.beforeDecrypt?.();
        // Another message arrived while the caller held us (it may have written
        // DECRYPT_PENDING): §8.4 allows only SIGNED or FROZEN from here, and we do not decrypt.
        if (this.interrupted)
          throw new TecdsaError(
            'E_SIGNING_FAILED',
            'session interrupted while decryption was pending: freeze this key',
            {
              freezeKey: true,
            },
          );
        const sig = this.complete(c3);
        return { send: this.envelope(6, encodeSign6(sig)), result: sig };
      }
      default:
        throw new TecdsaError('E_INTERNAL', 'no handler for this state');
    }
  }

  /**
   * §8.4 steps 4–7. Every check runs whatever the others gave, and a failure says only
   * E_SIGNING_FAILED: neither content nor early exit tells which check failed (§9.3 item 5).
   */
  private complete(c3: bigint): Signature {
    const share = this.p1.share;
    let ok: boolean;
    let sig: Signature = { r: 1n, s: 1n, recid: 0 };
    try {
      this.decryptions++;
      const d = decrypt(this.opts.modPow, share.paillier, c3);
      ok = d < 1n << BigInt(D_MAX_BITS);
      const s0 = modN(modInv(this.k1!, SECP256K1_N) * modN(d));
      ok = s0 !== 0n && ok;
      const parity = Number(this.R!.toAffine().y & 1n);
      const high = s0 > HALF_N;
      sig = { r: this.r!, s: high ? SECP256K1_N - s0 : s0, recid: (parity ^ (high ? 1 : 0)) as 0 | 1 };
      ok = signatureMatches(sig, this.sopts.m32, share.Q) && ok;
    } catch {
      ok = false;
    }
    if (!ok) throw new TecdsaError('E_SIGNING_FAILED', 'signing failed: freeze this key', { freezeKey: true });
    return sig;
  }

  protected erase(): void {
    this.k1 = undefined;
    this.pi1 = undefined;
    this.salt = undefined;
  }
}

export interface P2SignOptions extends SignOptions {
  share: P2Share;
  /** A precomputed r_enc^N mod N² (see precomputeEncryptionMask); each one used once. */
  encryptionMask?: bigint;
}

/** r_enc^N mod N² for a fresh r_enc ← Z*_N: the message-independent part of c3 (§8.3). */
export function precomputeEncryptionMask(o: Pick<SessionOptions, 'modPow' | 'rng'>, N: bigint): bigint {
  return o.modPow.pow(uniformUnit(o.rng, N), N, N * N);
}

/** P2, the desktop. start() gives SIGN-1; feed it SIGN-2, SIGN-4, SIGN-6; its result is the verified signature. */
export class P2Signer extends SignSession<Signature> {
  protected readonly self = 'P2' as const;
  private n2: Uint8Array | undefined;
  private k2: bigint | undefined;
  private C1: Uint8Array | undefined;
  private r: bigint | undefined;
  private mask: bigint | undefined;

  constructor(private readonly p2: P2SignOptions) {
    super(p2);
    this.mask = p2.encryptionMask;
  }

  start(): Step<Signature> {
    if (this.expected !== 0) throw new TecdsaError('E_INPUT', 'already started');
    this.n2 = this.opts.rng.bytes(32);
    return { send: this.begin(1, encodeSign1({ keyId: this.p2.share.keyId, m32: this.sopts.m32, n2: this.n2 }), 2) };
  }

  protected async handle(body: Uint8Array): Promise<Step<Signature>> {
    const o = this.opts;
    const share = this.p2.share;
    switch (this.expected) {
      case 2: {
        const m = decodeSign2(body);
        this.sid = signSid(o.requestId, share.keyId, share.Q, this.sopts.m32, m.n1, this.n2!);
        this.C1 = m.C1;
        this.k2 = this.nonce();
        const R2 = mulG(this.k2);
        const pi2 = proveSchnorr(o.rng, this.sid, 'R2', 'P2', this.k2, R2);
        this.expected = 4;
        return { send: this.envelope(3, encodeSign3({ R2, pi2 })) };
      }
      case 4: {
        const m = decodeSign4(body);
        checkOpening(this.C1!, this.sid!, 'R1', 'P1', [encPt(m.R1), encPt(m.pi1.A), encSc(m.pi1.z)], m.salt);
        verifySchnorr(this.sid!, 'R1', 'P1', m.R1, m.pi1);
        this.r = rOf(m.R1.multiply(this.k2!));
        const c3 = this.ciphertext(this.r);
        this.k2 = undefined;
        this.expected = 6;
        return { send: this.envelope(5, encodeSign5({ c3 }, share.N)) };
      }
      case 6: {
        let sig: Signature | undefined;
        try {
          const m = decodeSign6(body);
          if (m.r === this.r && m.s >= 1n && m.s <= HALF_N) sig = { r: m.r, s: m.s, recid: m.recid as 0 | 1 };
        } catch {
          sig = undefined;
        }
        if (!sig || !signatureMatches(sig, this.sopts.m32, share.Q))
          throw new TecdsaError('E_BAD_SIGNATURE', "the bank signer's signature does not verify");
        return { result: sig };
      }
      default:
        throw new TecdsaError('E_INTERNAL', 'no handler for this state');
    }
  }

  /** c3 = c_key^a · (1 + (b + ρ·q)·N) · r_enc^N mod N², a = κ·r, b = κ·(m + r·x2), κ = k2⁻¹ (§8.3). */
  private ciphertext(r: bigint): bigint {
    const { N, cKey, x2 } = this.p2.share;
    const N2 = N * N;
    const mp = this.opts.modPow;
    const kappa = modInv(this.k2!, SECP256K1_N);
    const m = modN(bytesToBig(this.sopts.m32));
    const a = modN(kappa * r);
    const b = modN(kappa * (m + r * x2));
    const rho = uniformBelow(this.opts.rng, 1n << BigInt(RHO_BITS));
    const mask = this.mask ?? precomputeEncryptionMask(this.opts, N);
    this.mask = undefined;
    return (mp.pow(cKey, a, N2) * (((1n + (b + rho * SECP256K1_N) * N) % N2) * mask)) % N2;
  }

  protected erase(): void {
    this.k2 = undefined;
    this.n2 = undefined;
    this.mask = undefined;
  }
}
