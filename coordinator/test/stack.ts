// A real local stack for coordinator tests: the bank signer (in-process, gRPC over mutual TLS,
// its own data directory) and the coordinator (HTTPS + WSS on 127.0.0.1) wired to it, with an
// admin and a signer user whose desktop identity is enrolled and approved.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { identityFromSeed, type Identity } from '@tandem/tecdsa/envelope';
import { startSigner, type RunningSigner } from '@tandem/signer-daemon/src/daemon.ts';
import { testConfig as signerTestConfig } from '@tandem/signer-daemon/test/harness.ts';
import { defaultConfig, type CoordinatorConfig } from '../src/config.ts';
import { startCoordinator, type RunningCoordinator } from '../src/server.ts';
import { startAnvil, type RunningAnvil } from '../src/chain/anvil.ts';
import { createUser, tokenFor } from './harness.ts';
import { type Role } from '../src/auth/roles.ts';

export interface Stack {
  dir: string;
  anvil: RunningAnvil;
  signer: RunningSigner;
  coordinator: RunningCoordinator;
  signerIdentity: Uint8Array;
  wssUrl: string;
  caCert: string;
  logFile: string;
  user(name: string, roles: Role[]): Promise<{ id: string; token: string; password: string }>;
  /** A user with the signer role whose desktop identity is enrolled and approved by the admin. */
  signerUser(name: string): Promise<{ id: string; token: string; device: Identity }>;
  admin: { id: string; token: string };
  api(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Stops the coordinator and starts it again on the same data directory and port. */
  restartCoordinator(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(patch: (c: CoordinatorConfig) => void = () => {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-stack-'));
  const logFile = join(dir, 'stack.log');
  const log = pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true, append: true }));
  const anvil = await startAnvil();
  const signer = await startSigner(signerTestConfig(join(dir, 'signer')), { log: log.child({ service: 'signer' }) });
  const dev = signer.devClient!;
  const config: CoordinatorConfig = {
    ...defaultConfig(dir),
    port: 0,
    logLevel: 'debug',
    signer: {
      address: `localhost:${signer.port}`,
      caCert: dev.caCert,
      clientCert: dev.clientCert,
      clientKey: dev.clientKey,
    },
    permitKeyFile: join(dir, 'signer', 'permit-key.json'),
    chain: { rpcUrl: anvil.rpcUrl, chainId: 31337, confirmations: 1, pollMs: 100 },
  };
  patch(config);
  let coordinator = await startCoordinator(config, { log: log.child({ service: 'coordinator' }) });
  const ctx = () => coordinator.ctx;
  const info = await ctx().signer.getSignerInfo();

  const api: Stack['api'] = async (method, path, token, body) => {
    const res = await stack.coordinator.app.inject({
      method: method as 'GET',
      url: path,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
  };
  const user: Stack['user'] = async (name, roles) => {
    const { user: u, password } = await createUser(ctx(), name, roles);
    return { id: u.id, token: await tokenFor(ctx(), u), password };
  };
  const admin = await user('admin', ['admin']);
  const signerUser: Stack['signerUser'] = async (name) => {
    const u = await user(name, ['signer']);
    const device = identityFromSeed(randomBytes(32));
    const enrolled = await api('POST', '/api/v1/devices', u.token, {
      name: `${name}'s workstation`,
      publicKey: Buffer.from(device.publicKey).toString('hex'),
    });
    const deviceId = (enrolled.json['device'] as { id: string } | undefined)?.id ?? (enrolled.json['id'] as string);
    const approved = await api('POST', `/api/v1/devices/${deviceId}/approve`, admin.token);
    if (approved.status !== 200) throw new Error(`device approval failed: ${JSON.stringify(approved.json)}`);
    return { id: u.id, token: u.token, device };
  };

  const stack: Stack = {
    dir,
    anvil,
    signer,
    coordinator,
    signerIdentity: info.identityPublicKey,
    wssUrl: `wss://localhost:${coordinator.port}/api/v1/mpc`,
    caCert: coordinator.devCaCert!,
    logFile,
    user,
    signerUser,
    admin,
    api,
    async restartCoordinator() {
      const port = stack.coordinator.port;
      await stack.coordinator.close();
      coordinator = await startCoordinator({ ...config, port }, { log: log.child({ service: 'coordinator' }) });
      stack.coordinator = coordinator;
    },
    async close() {
      await stack.coordinator.close();
      await stack.signer.close();
      await anvil.stop();
    },
  };
  return stack;
}
