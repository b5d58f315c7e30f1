// What the services share: storage, keys, clock and randomness, observability and limits.
// Built once by daemon.ts; tests build it the same way against a temporary data directory.

import { type Logger } from 'pino';
import { type Identity } from '@tandem/tecdsa/envelope';
import { type ModPow } from '@tandem/tecdsa/arith';
import { type Rng } from '@tandem/tecdsa/rng';
import { type Profile } from '@tandem/tecdsa/params';
import { type Db } from './store/db.ts';
import { type KeysetStore } from './store/keysets.ts';
import { type PermitKeys } from './permits/permitKeys.ts';
import { type PermitPolicy } from './permits/checkPermit.ts';
import { type AuditLog } from '@tandem/common/auditLog';
import { type Metrics } from '@tandem/common/metrics';
import { type RateLimit } from './limits/rateLimiter.ts';

export interface SessionLimits {
  /** Idle lifetime of a signing session (the protocol's own per-step limit also applies). */
  signSessionTtlMs: number;
  /** Lifetime of a DKG session (PROTOCOL.md's 10-minute limit also applies). */
  dkgSessionTtlMs: number;
  maxSigningSessionsPerKeyset: number;
  maxSessionsTotal: number;
  signingRate: { global: RateLimit; perKeyset: RateLimit };
}

export interface SignerContext {
  db: Db;
  keysets: KeysetStore;
  permitKeys: PermitKeys;
  permitPolicy: PermitPolicy;
  audit: AuditLog;
  metrics: Metrics;
  log: Logger;
  identity: Identity;
  modPow: ModPow;
  rng: Rng;
  profile: Profile;
  now: () => number;
  limits: SessionLimits;
}
