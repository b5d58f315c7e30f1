// Wires the signer together and runs it: storage, KEK, identity, permit keys, the gRPC server
// over mutual TLS, the ops HTTP server, the session sweeper, and a graceful shutdown that lets
// in-flight calls finish and then abandons every open session.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { pino, type Logger } from 'pino';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { MPCSignerService } from '@tandem/proto/mpc';
import { type DaemonConfig, ConfigError } from './config.ts';
import { type SignerContext } from './context.ts';
import { recoverAfterRestart } from './store/recovery.ts';
import { openSignerStore } from './store/open.ts';
import { Metrics } from '@tandem/common/metrics';
import { startOpsServer } from './ops/http.ts';
import { loadIdentity } from './identity.ts';
import { ensureDevPki } from '@tandem/common/devPki';
import { DkgService } from './sessions/dkgService.ts';
import { SigningService } from './sessions/signingService.ts';
import { RebindService } from './sessions/rebindService.ts';
import { mpcSignerService } from './grpc/service.ts';
import { type ServerState } from './grpc/signStream.ts';

export interface RunningSigner {
  ctx: SignerContext;
  port: number;
  opsPort: number | undefined;
  /** Client material for the local stack and tests (development PKI only). */
  devClient?: { caCert: string; clientCert: string; clientKey: string };
  close(graceMs?: number): Promise<void>;
}

export async function startSigner(config: DaemonConfig, opts: { log?: Logger } = {}): Promise<RunningSigner> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { service: 'tandem-signer' } });
  const now = () => Date.now();
  const store = openSignerStore(config, now);
  const { db, kek, kekOrigin: origin, modPow, keysets, permitKeys, audit } = store;
  const metrics = new Metrics();
  keysets.onCorrupted = (keysetId) => {
    metrics.inc('signer_share_corrupted_total', 'Stored shares that failed to open or match their keyset');
    log.error({ keysetId }, 'stored share is corrupted or was moved: nothing will be signed with it');
    audit.append('signer', 'share.corrupted', keysetId, {});
  };
  const { identity, created } = loadIdentity(db, kek);
  if (created)
    audit.append('signer', 'identity.created', 'signer', {
      publicKey: Buffer.from(identity.publicKey).toString('hex'),
    });

  const ctx: SignerContext = {
    db,
    keysets,
    permitKeys,
    permitPolicy: config.permit,
    audit,
    metrics,
    log,
    identity,
    modPow,
    rng: systemRng,
    profile: FULL,
    now,
    limits: config.limits,
  };

  const recovered = recoverAfterRestart(db, keysets, audit, now());
  for (const k of recovered.frozen) {
    metrics.inc('signer_keyset_freezes_total', 'Keysets frozen after a failure past decryption');
    log.error({ keysetId: k }, 'keyset frozen at start-up: a signing session ended between decryption and its result');
  }

  // Development: one permit key, exported for the local coordinator.
  let devPermitKeyFile: string | undefined;
  if (!config.production && permitKeys.isEmpty()) {
    const key = permitKeys.rotate(now(), config.permit.rotationGraceMs);
    devPermitKeyFile = join(config.dataDir, 'permit-key.json');
    writeFileSync(
      devPermitKeyFile,
      JSON.stringify({ keyId: key.keyId, secret: key.secret.toString('base64') }) + '\n',
      {
        mode: 0o600,
      },
    );
    audit.append('signer', 'permit_key.created', key.keyId, { exportedTo: devPermitKeyFile });
  }

  let tls = config.tls;
  let devClient: RunningSigner['devClient'];
  if (!tls) {
    if (config.production) throw new ConfigError('production: TLS files are required');
    const dev = ensureDevPki(join(config.dataDir, 'tls'), { clientIdentity: config.allowedClients[0] });
    tls = { caCert: dev.caCert, serverCert: dev.serverCert, serverKey: dev.serverKey };
    devClient = { caCert: dev.caCert, clientCert: dev.clientCert, clientKey: dev.clientKey };
  }
  for (const f of [tls.caCert, tls.serverCert, tls.serverKey])
    if (!existsSync(f)) throw new ConfigError(`TLS file ${f} does not exist`);

  const dkg = new DkgService(ctx);
  const signing = new SigningService(ctx);
  const rebind = new RebindService(ctx);
  const state: ServerState = { accepting: true, inFlight: 0, streams: new Set() };

  metrics.gauge('signer_keysets_frozen', 'Keysets currently frozen', () => keysets.countByStatus().FROZEN);
  metrics.gauge('signer_keysets_active', 'Keysets currently active', () => keysets.countByStatus().ACTIVE);
  metrics.gauge(
    'signer_sessions_open',
    'Protocol sessions in memory',
    () => dkg.sessions.running() + signing.sessions.running(),
  );

  const server = new Server({
    'grpc.max_receive_message_length': 512 * 1024,
    'grpc.max_send_message_length': 512 * 1024,
    'grpc.max_concurrent_streams': 256,
    'grpc.keepalive_time_ms': 60_000,
  });
  server.addService(
    MPCSignerService,
    mpcSignerService(ctx, dkg, signing, rebind, { allowed: config.allowedClients }, state),
  );
  const health = new HealthImplementation({ '': 'SERVING', 'tandem.mpc.v1.MPCSigner': 'SERVING' });
  health.addToServer(server);
  const creds = ServerCredentials.createSsl(
    readFileSync(tls.caCert),
    [{ private_key: readFileSync(tls.serverKey), cert_chain: readFileSync(tls.serverCert) }],
    true, // a client without a certificate from our CA is refused during the handshake
  );
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync(`${config.host}:${config.port}`, creds, (err, p) => (err ? fail(err) : ok(p))),
  );

  const ops = config.opsPort >= 0 ? await startOpsServer(config.opsPort, metrics, () => state.accepting) : undefined;
  const sweeper = setInterval(() => {
    dkg.sweep();
    signing.sweep();
  }, 1_000);
  sweeper.unref();

  log.info(
    {
      port,
      opsPort: ops?.port,
      dataDir: config.dataDir,
      kek: { origin, fingerprint: kek.fingerprint },
      identity: Buffer.from(identity.publicKey).toString('hex'),
      devPki: !config.tls,
      devPermitKeyFile,
      auditHead: audit.head(),
    },
    'signer listening',
  );

  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000) =>
    (closing ??= (async () => {
      state.accepting = false;
      health.setStatus('', 'NOT_SERVING');
      clearInterval(sweeper);
      const deadline = Date.now() + graceMs;
      while (state.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const endStream of [...state.streams]) endStream(); // idle Sign streams would hold tryShutdown
      await new Promise<void>((ok) => server.tryShutdown(() => ok()));
      server.forceShutdown();
      dkg.abortAll();
      signing.abortAll();
      if (ops) await new Promise<void>((ok) => ops.server.close(() => ok()));
      log.info({ auditHead: audit.head() }, 'signer stopped');
      store.close();
    })());

  return { ctx, port, opsPort: ops?.port, devClient, close };
}
