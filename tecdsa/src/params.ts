// Protocol parameters (PROTOCOL.md §2 and the reduced test profile of §3.2a).
// These are the security floor: the profiles below are the only ones, and nothing lowers m.

export const ELL = 256;
export const EPS = 512;
export const RHO_BITS = 900;
export const D_MAX_BITS = 1160;
export const REPETITIONS = 80;

export interface Profile {
  readonly name: 'full' | 'test';
  /** |N|, P1's Paillier modulus */
  readonly nBits: number;
  /** |N̂|, P2's ring-Pedersen modulus */
  readonly nHatBits: number;
  /** repetitions of Πmod and Πprm */
  readonly m: number;
}

export const FULL: Profile = { name: 'full', nBits: 3072, nHatBits: 2048, m: REPETITIONS };
/** Reduced sizes for fast tests only; never 1024-bit N (an honest plaintext reaches 2^1157). */
export const TEST: Profile = { name: 'test', nBits: 1536, nHatBits: 1024, m: REPETITIONS };

export const profileByName = (name: string): Profile | undefined =>
  name === 'full' ? FULL : name === 'test' ? TEST : undefined;

/** Timeouts of §2, enforced by both parties (§5.0: part of Πmod's soundness argument). */
export const KG_TIMEOUT_MS = 10 * 60_000;
export const SIGN_STEP_TIMEOUT_MS = 120_000;
export const SIGN_SESSION_TIMEOUT_MS = 10 * 60_000;
