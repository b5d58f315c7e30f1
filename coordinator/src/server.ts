// Wires the coordinator together and runs it: the database, audit log and metrics, the signer
// client, the HTTPS server with the REST routes of every feature, the WSS endpoint on the same
// server, and (when a chain is configured) the deposit follower.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Server } from 'node:http';
import { type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Metrics } from '@tandem/common/metrics';
import { ensureDevPki } from '@tandem/common/devPki';
import { type CoordinatorConfig, ConfigError } from './config.ts';
import { type CoordinatorContext } from './context.ts';
import { openStore } from './db/sqliteStore.ts';
import { AuditTrail } from './audit/auditTrail.ts';
import { buildApp } from './http/app.ts';
import { connectSigner, type SignerCalls } from './signer/signerClient.ts';
import { registerAuthRoutes } from './auth/routes.ts';
import { registerDeviceRoutes } from './devices/routes.ts';
import { registerWalletRoutes } from './wallets/routes.ts';
import { registerPolicyRoutes } from './policy/routes.ts';
import { registerAddressBookRoutes } from './addressBook/routes.ts';
import { EventHub } from './events/hub.ts';
import { RelaySessions } from './mpc/relaySessions.ts';
import { DkgRelay } from './mpc/dkgRelay.ts';
import { attachMpcEndpoint } from './mpc/wss.ts';
import { makeChain } from './chain/client.ts';
import { DepositWatcher } from './chain/deposits.ts';
import { loadPermitKey } from './permits/issuer.ts';
import { WithdrawalService } from './withdrawals/service.ts';
import { registerWithdrawalRoutes } from './withdrawals/routes.ts';
import { SignRelay } from './withdrawals/signRelay.ts';
import { Broadcaster } from './withdrawals/broadcaster.ts';
import { reconcileSigning } from './withdrawals/recovery.ts';

export interface RunningCoordinator {
  ctx: CoordinatorContext;
  app: FastifyInstance;
  port: number;
  url: string;
  /** The CA that issued the development HTTPS certificate (clients trust it in development). */
  devCaCert?: string;
  close(): Promise<void>;
}

export function registerRoutes(
  app: FastifyInstance,
  ctx: CoordinatorContext,
  hub: EventHub,
  withdrawals = new WithdrawalService(ctx, hub),
): void {
  registerAuthRoutes(app, ctx);
  registerDeviceRoutes(app, ctx, hub);
  registerWalletRoutes(app, ctx, hub);
  registerPolicyRoutes(app, ctx, hub);
  registerAddressBookRoutes(app, ctx, hub);
  registerWithdrawalRoutes(app, ctx, withdrawals);
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Metrics for the local Prometheus agent only.
  app.get('/metrics', async (req, reply) => {
    if (req.socket.remoteAddress !== '127.0.0.1' && req.socket.remoteAddress !== '::1')
      return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    return reply.type('text/plain; version=0.0.4').send(ctx.metrics.render());
  });
}

export async function startCoordinator(
  config: CoordinatorConfig,
  opts: { log?: Logger; signer?: SignerCalls; now?: () => number } = {},
): Promise<RunningCoordinator> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const log = opts.log ?? pino({ level: config.logLevel, base: { service: 'tandem-coordinator' } });
  const now = opts.now ?? (() => Date.now());
  const store = openStore(join(config.dataDir, 'coordinator.db'));
  const metrics = new Metrics();
  const audit = new AuditTrail(store, now);
  const signer = opts.signer ?? connectSigner(config.signer);
  const chain = makeChain(config.chain.rpcUrl, config.chain.chainId);
  const ctx: CoordinatorContext = { config, store, audit, metrics, log, signer, chain, now };
  // Read at start so a missing or unreadable key stops the coordinator with a clear error.
  const permitKey = loadPermitKey(config.permitKeyFile);

  let tls = config.tls;
  let devCaCert: string | undefined;
  if (!tls) {
    if (config.production) throw new ConfigError('production: TLS files are required');
    const dev = ensureDevPki(join(config.dataDir, 'tls'));
    tls = { cert: dev.serverCert, key: dev.serverKey };
    devCaCert = dev.caCert;
  }
  const app = buildApp(ctx, { cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
  const hub = new EventHub();
  const withdrawals = new WithdrawalService(ctx, hub);
  registerRoutes(app, ctx, hub, withdrawals);
  const relays = new RelaySessions(config.mpcRoundTimeoutMs, log);
  const broadcaster = new Broadcaster(ctx, withdrawals, () =>
    reconcileSigning(
      ctx,
      withdrawals,
      (id) => relays.forSubject(id) !== undefined,
      () => {},
    ),
  );
  const mpc = attachMpcEndpoint(ctx, app.server as unknown as Server, hub, {
    dkg: new DkgRelay(ctx, relays),
    sign: new SignRelay(
      ctx,
      relays,
      withdrawals,
      () => permitKey,
      () => void broadcaster.tick(),
    ),
    onSocketClosed: (socket) => relays.abortSocket(socket, 'DISCONNECTED'),
  });
  const deposits = new DepositWatcher({
    store,
    chain,
    log,
    audit,
    metrics,
    confirmations: config.chain.confirmations,
    now,
  });
  deposits.start(config.chain.pollMs);
  broadcaster.start(config.chain.pollMs);
  const expiry = setInterval(() => void withdrawals.expire(), 60_000);
  expiry.unref();
  await app.listen({ host: config.host, port: config.port });
  void broadcaster.tick(); // settle what a restart interrupted, and send anything signed before it
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  log.info(
    { port, dataDir: config.dataDir, devTls: !config.tls, auditHead: await audit.head() },
    'coordinator listening',
  );

  return {
    ctx,
    app,
    port,
    url: `https://localhost:${port}`,
    devCaCert,
    async close() {
      // Sessions cut short return their withdrawals to approved before the database closes.
      await relays.abortAll('SHUTDOWN');
      mpc.close();
      clearInterval(expiry);
      await deposits.stop();
      await broadcaster.stop();
      await app.close();
      signer.close();
      log.info({ auditHead: await audit.head() }, 'coordinator stopped');
      await store.close();
    },
  };
}
