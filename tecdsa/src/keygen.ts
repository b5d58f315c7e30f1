// Distributed key generation, KG-1..KG-5 (PROTOCOL.md §7), as two state machines.
// P2 (desktop) starts; P1 (bank signer) commits to Q1 before seeing Q2, and produces Πfac
// and Πlog* only after P2's ring-Pedersen parameters passed Πprm.

import { TecdsaError } from './errors.ts';
import { equalBytes } from './bytes.ts';
import { type Point, SECP256K1_N, mulG } from './curve.ts';
import { encPt, encSc } from './encoding.ts';
import { commit, checkOpening } from './commitment.ts';
import {
  decodeKg1,
  decodeKg2,
  decodeKg3,
  decodeKg4,
  decodeKg5,
  encodeKg1,
  encodeKg2,
  encodeKg3,
  encodeKg4,
  encodeKg5,
} from './messages.ts';
import {
  type PaillierSecretKey,
  encryptWithSecret,
  generatePaillier,
  paillierPublic,
  isValidCiphertext,
} from './paillier.ts';
import { type RingPedersenParams, type RingPedersenSecret, rpPublic } from './ringPedersen.ts';
import { uniformRange, uniformUnit } from './rng.ts';
import { KG_TIMEOUT_MS } from './params.ts';
import { Session, type SessionOptions, type Step } from './session.ts';
import { kgSid, keyIdOf, kgTranscriptHash } from './sessionIds.ts';
import { proveSchnorr, verifySchnorr } from './proofs/schnorr.ts';
import { checkRingPedersenParams, provePrm, verifyPrm } from './proofs/prm.ts';
import { proveMod, verifyMod } from './proofs/mod.ts';
import { proveFac, verifyFac } from './proofs/fac.ts';
import { proveLogStar, verifyLogStar } from './proofs/logstar.ts';
import { checkPaillierModulus } from './modulusCheck.ts';
import { type KeyOrigin, type P1Share, type P2Share } from './shares.ts';

export interface KeygenOptions extends SessionOptions {
  walletId: Uint8Array;
  /** Test-only dealer mode (§13.1): fixes this party's key share. Never set in production. */
  testOnlyShare?: bigint;
}

const randomScalar = (o: SessionOptions): bigint => uniformRange(o.rng, 1n, SECP256K1_N);

abstract class KeygenSession<R> extends Session<R> {
  protected readonly kind = 'kg' as const;
  protected readonly bodies: Uint8Array[] = [];
  protected sid: Uint8Array | undefined;
  protected origin: KeyOrigin | undefined;

  constructor(protected readonly kopts: KeygenOptions) {
    super(kopts);
    if (kopts.walletId.length !== 32) throw new TecdsaError('E_INPUT', 'walletId must be 32 bytes');
    if (kopts.testOnlyShare !== undefined && (kopts.testOnlyShare < 1n || kopts.testOnlyShare >= SECP256K1_N))
      throw new TecdsaError('E_INPUT', 'dealer share must be in [1, q)');
  }

  protected checkTimeout(now: number): void {
    if (now - this.startedAt > KG_TIMEOUT_MS) throw new TecdsaError('E_TIMEOUT', 'key generation took over 10 minutes');
  }

  protected share(): bigint {
    return this.kopts.testOnlyShare ?? randomScalar(this.opts);
  }

  /** Fixes the DKG's sid from both nonces and both identities (§6.1). */
  protected setSid(n1: Uint8Array, n2: Uint8Array, idpk1: Uint8Array, idpk2: Uint8Array): Uint8Array {
    this.origin = { requestId: this.opts.requestId, n1, n2, idpk1, idpk2 };
    this.sid = kgSid({ ...this.origin, walletId: this.kopts.walletId }, this.opts.profile);
    return this.sid;
  }
}

/** P1, the bank signer. Feed it KG-1, KG-3, KG-5; its result is the P1 share. */
export class P1Keygen extends KeygenSession<P1Share> {
  protected readonly self = 'P1' as const;
  private x1: bigint | undefined;
  private Q1: Point | undefined;
  private pi1: { A: Point; z: bigint } | undefined;
  private salt1: Uint8Array | undefined;
  private pending: { keyId: Uint8Array; tKg: Uint8Array; share: P1Share } | undefined;

  /** `paillier`: a pre-generated key from a pool (each used for exactly one key), else generated here. */
  constructor(
    opts: KeygenOptions,
    private paillier?: PaillierSecretKey,
  ) {
    super(opts);
    this.expected = 1;
  }

  protected async handle(body: Uint8Array): Promise<Step<P1Share>> {
    const o = this.opts;
    switch (this.expected) {
      case 1: {
        const m = decodeKg1(body);
        if (!equalBytes(m.walletId, this.kopts.walletId))
          throw new TecdsaError('E_ENROLMENT', 'KG-1 names another wallet');
        const n1 = o.rng.bytes(32);
        const sid = this.setSid(n1, m.n2, o.identity.publicKey, o.peerPublicKey);
        this.x1 = this.share();
        this.Q1 = mulG(this.x1);
        this.pi1 = proveSchnorr(o.rng, sid, 'Q1', 'P1', this.x1, this.Q1);
        this.salt1 = o.rng.bytes(32);
        const C1 = commit(sid, 'Q1', 'P1', [encPt(this.Q1), encPt(this.pi1.A), encSc(this.pi1.z)], this.salt1);
        const reply = encodeKg2({ n1, C1 });
        this.bodies.push(body, reply);
        this.expected = 3;
        return { send: this.envelope(2, reply) };
      }
      case 3: {
        const sid = this.sid!;
        const m = decodeKg3(body, o.profile);
        verifySchnorr(sid, 'Q2', 'P2', m.Q2, m.pi2);
        checkRingPedersenParams(m.rp, o.profile.nHatBits);
        verifyPrm(o.modPow, sid, m.rp, m.prm, o.profile.m);
        const Q = this.Q1!.add(m.Q2);
        if (Q.is0()) throw new TecdsaError('E_POINT', 'Q1 + Q2 is the identity');
        const sk = this.paillier ?? generatePaillier(o.modPow, o.rng, o.profile.nBits);
        this.paillier = undefined;
        if (sk.N.toString(2).length !== o.profile.nBits)
          throw new TecdsaError('E_INPUT', 'pooled Paillier key has the wrong size');
        const rho = uniformUnit(o.rng, sk.N);
        const cKey = encryptWithSecret(o.modPow, sk, this.x1!, rho);
        const mod = proveMod(o.modPow, o.rng, sid, sk, o.profile.m);
        const fac = proveFac(o.modPow, o.rng, sid, sk, m.rp);
        const logstar = proveLogStar(
          o.modPow,
          o.rng,
          sid,
          sk,
          m.rp,
          { pk: paillierPublic(sk.N), C: cKey, X: this.Q1! },
          this.x1!,
          rho,
        );
        const reply = encodeKg4(
          { Q1: this.Q1!, pi1: this.pi1!, salt1: this.salt1!, N: sk.N, mod, fac, cKey, logstar },
          m.rp.Nhat,
        );
        this.bodies.push(body, reply);
        const keyId = keyIdOf(sid, Q, sk.N, cKey);
        this.pending = {
          keyId,
          tKg: kgTranscriptHash(this.bodies),
          share: {
            version: 1,
            keyId,
            walletId: this.kopts.walletId,
            Q,
            Q1: this.Q1!,
            Q2: m.Q2,
            x1: this.x1!,
            paillier: sk,
            cKey,
            origin: this.origin!,
          },
        };
        this.expected = 5;
        return { send: this.envelope(4, reply) };
      }
      case 5: {
        const m = decodeKg5(body);
        const p = this.pending!;
        if (!equalBytes(m.keyId, p.keyId) || !equalBytes(m.tKg, p.tKg))
          throw new TecdsaError('E_TRANSCRIPT_MISMATCH', 'KG-5 keyId or transcript hash differs');
        return { result: p.share };
      }
      default:
        throw new TecdsaError('E_INTERNAL', 'no handler for this state');
    }
  }

  protected erase(): void {
    this.x1 = undefined;
    this.pi1 = undefined;
    this.salt1 = undefined;
    this.paillier = undefined;
    this.pending = undefined;
  }
}

/** P2, the desktop. Call start() for KG-1, then feed KG-2 and KG-4; the result is the P2 share and KG-5 is sent. */
export class P2Keygen extends KeygenSession<P2Share> {
  protected readonly self = 'P2' as const;
  private n2: Uint8Array | undefined;
  private x2: bigint | undefined;
  private Q2: Point | undefined;
  private C1: Uint8Array | undefined;

  constructor(
    opts: KeygenOptions,
    private readonly rp: RingPedersenSecret,
  ) {
    super(opts);
    if (rp.Nhat.toString(2).length !== opts.profile.nHatBits)
      throw new TecdsaError('E_INPUT', 'ring-Pedersen size does not match the profile');
  }

  /** KG-1. */
  start(): Step<P2Share> {
    if (this.expected !== 0) throw new TecdsaError('E_INPUT', 'already started');
    this.n2 = this.opts.rng.bytes(32);
    const body = encodeKg1({ walletId: this.kopts.walletId, n2: this.n2 });
    this.bodies.push(body);
    return { send: this.begin(1, body, 2) };
  }

  protected async handle(body: Uint8Array): Promise<Step<P2Share>> {
    const o = this.opts;
    switch (this.expected) {
      case 2: {
        const m = decodeKg2(body);
        const sid = this.setSid(m.n1, this.n2!, o.peerPublicKey, o.identity.publicKey);
        this.C1 = m.C1;
        this.x2 = this.share();
        this.Q2 = mulG(this.x2);
        const pi2 = proveSchnorr(o.rng, sid, 'Q2', 'P2', this.x2, this.Q2);
        const prm = provePrm(o.modPow, o.rng, sid, this.rp, o.profile.m);
        const reply = encodeKg3({ Q2: this.Q2, pi2, rp: rpPublic(this.rp), prm });
        this.bodies.push(body, reply);
        this.expected = 4;
        return { send: this.envelope(3, reply) };
      }
      case 4: {
        const sid = this.sid!;
        const m = decodeKg4(body, o.profile, this.rp.Nhat);
        const { Q, cKey } = verifyKg4(o, sid, this.C1!, this.Q2!, rpPublic(this.rp), m);
        this.bodies.push(body);
        const keyId = keyIdOf(sid, Q, m.N, cKey);
        const tKg = kgTranscriptHash(this.bodies);
        const share: P2Share = {
          version: 1,
          keyId,
          walletId: this.kopts.walletId,
          Q,
          Q1: m.Q1,
          Q2: this.Q2!,
          x2: this.x2!,
          N: m.N,
          cKey,
          origin: this.origin!,
        };
        return { send: this.envelope(5, encodeKg5({ keyId, tKg })), result: share };
      }
      default:
        throw new TecdsaError('E_INTERNAL', 'no handler for this state');
    }
  }

  protected erase(): void {
    this.x2 = undefined;
    this.n2 = undefined;
  }
}

/**
 * P2's checks on KG-4 (§7 "P2 on KG-4" steps 1–4), in the spec's order; shared with the
 * transcript verifier. Returns the joint key.
 */
export function verifyKg4(
  o: Pick<SessionOptions, 'modPow' | 'rng' | 'profile'>,
  sid: Uint8Array,
  C1: Uint8Array,
  Q2: Point,
  rp: RingPedersenParams,
  m: ReturnType<typeof decodeKg4>,
): { Q: Point; cKey: bigint } {
  checkOpening(C1, sid, 'Q1', 'P1', [encPt(m.Q1), encPt(m.pi1.A), encSc(m.pi1.z)], m.salt1);
  verifySchnorr(sid, 'Q1', 'P1', m.Q1, m.pi1);
  checkPaillierModulus(o.modPow, o.rng, m.N, o.profile.nBits);
  verifyMod(o.modPow, sid, m.N, m.mod, o.profile.m);
  verifyFac(o.modPow, sid, m.N, rp, m.fac);
  const pk = paillierPublic(m.N);
  if (!isValidCiphertext(pk, m.cKey)) throw new TecdsaError('E_CIPHERTEXT', 'c_key is not a valid ciphertext');
  verifyLogStar(o.modPow, sid, { pk, C: m.cKey, X: m.Q1 }, rp, m.logstar);
  const Q = m.Q1.add(Q2);
  if (Q.is0()) throw new TecdsaError('E_POINT', 'Q1 + Q2 is the identity');
  return { Q, cKey: m.cKey };
}
