// What the coordinator's features share. Built once by server.ts; tests build it the same way.

import { type Logger } from 'pino';
import { type Metrics } from '@tandem/common/metrics';
import { type Store } from './db/store.ts';
import { type AuditTrail } from './audit/auditTrail.ts';
import { type SignerCalls } from './signer/signerClient.ts';
import { type CoordinatorConfig } from './config.ts';
import { type ChainClient } from './chain/client.ts';

export interface CoordinatorContext {
  config: CoordinatorConfig;
  store: Store;
  audit: AuditTrail;
  metrics: Metrics;
  log: Logger;
  signer: SignerCalls;
  chain: ChainClient;
  now: () => number;
}
