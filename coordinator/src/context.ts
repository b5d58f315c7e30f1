// What the coordinator's features share. Built once by server.ts; tests build it the same way.

import { type Logger } from 'pino';
import { type AuditLog } from '@tandem/common/auditLog';
import { type Metrics } from '@tandem/common/metrics';
import { type Db } from './db/db.ts';
import { type SignerCalls } from './signer/signerClient.ts';
import { type CoordinatorConfig } from './config.ts';
import { type ChainClient } from './chain/client.ts';

export interface CoordinatorContext {
  config: CoordinatorConfig;
  db: Db;
  audit: AuditLog;
  metrics: Metrics;
  log: Logger;
  signer: SignerCalls;
  chain: ChainClient;
  now: () => number;
}
