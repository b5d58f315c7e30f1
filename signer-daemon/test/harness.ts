// Test fixtures: a real signer (gRPC over mutual TLS on 127.0.0.1, SQLite in a temporary data
// directory, JSON logs in a file), a client playing the coordinator, and a Device playing P2
// with tecdsa's own P2 state machines.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import {
  MPCSignerClient,
  type SigningPermit,
  type RebindPermit,
  type Keyset,
  type StartSigningRequest,
} from '@tandem/proto/mpc';
import { permitMac, rebindPermitMac } from '@tandem/proto/permit';
import { SigningStream } from '@tandem/proto/signStream';
import { type Identity, identityFromSeed, parseEnvelope, envelopeToJson, type Envelope } from '@tandem/tecdsa/envelope';
import { P2Keygen } from '@tandem/tecdsa/keygen';
import { P2Signer, type Signature } from '@tandem/tecdsa/sign';
import { type P2Share } from '@tandem/tecdsa/shares';
import { type RingPedersenSecret, generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { defaultConfig, type DaemonConfig } from '../src/config.ts';
import { startSigner, type RunningSigner } from '../src/daemon.ts';
import { ERROR_CODE_KEY } from '../src/grpc/service.ts';

export const mp = nativeModPow()!;

export interface TestSigner {
  signer: RunningSigner;
  dataDir: string;
  logFile: string;
  client: MPCSignerClient;
}

export function tempDir(prefix = 'tandem-signer-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(dataDir: string, patch: (c: DaemonConfig) => void = () => {}): DaemonConfig {
  const c = defaultConfig(dataDir);
  c.port = 0;
  c.opsPort = 0;
  c.logLevel = 'debug';
  patch(c);
  return c;
}

export async function startTestSigner(dataDir = tempDir(), patch?: (c: DaemonConfig) => void): Promise<TestSigner> {
  const logFile = join(dataDir, 'signer.log');
  const log = pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true, append: true }));
  const signer = await startSigner(testConfig(dataDir, patch), { log });
  const dev = signer.devClient!;
  const client = connect(signer.port, dev.caCert, dev.clientCert, dev.clientKey);
  return { signer, dataDir, logFile, client };
}

/** A test signer with one keyset, made by an honest device's DKG (the device keeps its share). */
export async function signerWithKeyset(
  keysetId: string,
  patch?: (c: DaemonConfig) => void,
): Promise<{ t: TestSigner; device: Device }> {
  const t = await startTestSigner(undefined, patch);
  const device = await newDevice(t.client);
  await device.dkg(t.client, keysetId);
  return { t, device };
}

/** A device that pins this signer's identity key. */
export async function newDevice(client: MPCSignerClient): Promise<Device> {
  const info = await call<{ identityPublicKey: Buffer }>(client, 'getSignerInfo', {});
  return new Device(info.identityPublicKey);
}

/** Stops what startTestSigner started. */
export async function stopTestSigner(t: TestSigner | undefined): Promise<void> {
  t?.client.close();
  await t?.signer.close();
}

export function connect(port: number, ca: string, cert?: string, key?: string): MPCSignerClient {
  const creds = credentials.createSsl(
    readFileSync(ca),
    key ? readFileSync(key) : null,
    cert ? readFileSync(cert) : null,
  );
  return new MPCSignerClient(`localhost:${port}`, creds);
}

export class CallFailed extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

type Method = keyof MPCSignerClient &
  (
    | 'startDkg'
    | 'dkgRound'
    | 'finalizeDkg'
    | 'startSigning'
    | 'signingRound'
    | 'finalizeSigning'
    | 'getKeyset'
    | 'getSigningResult'
    | 'getSignerInfo'
    | 'rebindDevice'
  );

/** Calls one RPC; a failure becomes CallFailed with the status and the stable error code. */
export function call<Res>(client: MPCSignerClient, method: Method, req: unknown): Promise<Res> {
  return new Promise((ok, fail) => {
    const fn = client[method] as unknown as (
      r: unknown,
      opts: { deadline: number },
      cb: (e: ServiceError | null, r: Res) => void,
    ) => void;
    fn.call(client, req, { deadline: Date.now() + 60_000 }, (e, r) => (e ? fail(callFailed(e)) : ok(r)));
  });
}

function callFailed(e: ServiceError): CallFailed {
  const code = e.metadata?.get(ERROR_CODE_KEY)[0];
  return new CallFailed(e.code, typeof code === 'string' ? code : undefined, e.details ?? e.message);
}

/** A signing on one Sign stream, as the coordinator drives it; failures are CallFailed, as `call`'s. */
export function openSigning(client: MPCSignerClient) {
  const stream = new SigningStream(client, { stepMs: 60_000, streamMs: 120_000 });
  const mapped = <T>(p: Promise<T>) => p.catch((e: ServiceError) => Promise.reject(callFailed(e)));
  return {
    start: (r: StartSigningRequest) => mapped(stream.start(r)),
    round: (envelope: Uint8Array) => mapped(stream.round(envelope)),
    finalize: (envelope: Uint8Array) => mapped(stream.finalize(envelope)),
    cancel: () => stream.cancel(),
  };
}

/** Asserts a call fails with `code`; returns the failure. */
export async function refused(p: Promise<unknown>, code: string): Promise<CallFailed> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CallFailed && e.code === code) return e;
    throw new Error(`expected ${code}, got ${e instanceof CallFailed ? `${e.code} (${e.message})` : String(e)}`, {
      cause: e,
    });
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

let rpCache: RingPedersenSecret | undefined;
/** The desktop's one-time ring-Pedersen setup, once per test process (it takes seconds). */
export function ringPedersen(): RingPedersenSecret {
  return (rpCache ??= generateRingPedersen(mp, systemRng, FULL.nHatBits));
}

export const envBytes = (e: Envelope) => Buffer.from(envelopeToJson(e), 'utf8');
export const parseEnv = (b: Uint8Array) => parseEnvelope(b);

/** The desktop (P2): its identity, ring-Pedersen setup and, after a DKG, its share. */
export class Device {
  readonly identity: Identity;
  share: P2Share | undefined;
  constructor(
    readonly signerKey: Uint8Array,
    seed = randomBytes(32),
  ) {
    this.identity = identityFromSeed(seed);
  }

  private base(requestId: Uint8Array) {
    return {
      identity: this.identity,
      peerPublicKey: this.signerKey,
      requestId,
      rng: systemRng,
      modPow: mp,
      now: Date.now,
      profile: FULL,
    };
  }

  /** A whole DKG through the signer; returns the signer's keyset. */
  async dkg(client: MPCSignerClient, keysetId: string, walletId = randomBytes(32)): Promise<Keyset> {
    const p2 = new P2Keygen({ ...this.base(randomBytes(32)), walletId }, ringPedersen());
    const kg1 = p2.start().send!;
    const s = await call<{ sessionId: string; envelope: Buffer }>(client, 'startDkg', {
      keysetId,
      walletId,
      devicePublicKey: Buffer.from(this.identity.publicKey),
      envelope: envBytes(kg1),
    });
    const kg3 = (await p2.receive(parseEnv(s.envelope))).send!;
    const r = await call<{ envelope: Buffer }>(client, 'dkgRound', { sessionId: s.sessionId, envelope: envBytes(kg3) });
    const step = await p2.receive(parseEnv(r.envelope));
    this.share = step.result!;
    const f = await call<{ keyset: Keyset }>(client, 'finalizeDkg', {
      sessionId: s.sessionId,
      envelope: envBytes(step.send!),
    });
    return f.keyset;
  }

  /** `encryptionMasks`: precomputed r^N mod N² values (precomputeEncryptionMask), one used per signing. */
  readonly encryptionMasks: bigint[] = [];

  signer(m32: Uint8Array, requestId = randomBytes(32)): P2Signer {
    return new P2Signer({
      ...this.base(requestId),
      m32,
      share: this.share!,
      encryptionMask: this.encryptionMasks.pop(),
    });
  }
}

/** A whole signing through the signer with an honest P2, on one Sign stream as the coordinator signs. */
export async function signThrough(
  client: MPCSignerClient,
  device: Device,
  keysetId: string,
  m32: Uint8Array,
  payload: { unsignedTx?: Uint8Array; personalMessage?: Uint8Array },
  permit: SigningPermit,
): Promise<{ signature: Signature; fromSigner: { r: Buffer; s: Buffer; recoveryId: number } }> {
  const p2 = device.signer(m32);
  const stream = openSigning(client);
  try {
    const bytes = (b?: Uint8Array) => (b === undefined ? undefined : Buffer.from(b));
    const s = await stream.start({
      keysetId,
      permit,
      unsignedTx: bytes(payload.unsignedTx),
      personalMessage: bytes(payload.personalMessage),
      envelope: envBytes(p2.start().send!),
    });
    const sign3 = (await p2.receive(parseEnv(s.envelope))).send!;
    const sign5 = (await p2.receive(parseEnv(await stream.round(envBytes(sign3))))).send!;
    const f = await stream.finalize(envBytes(sign5));
    const done = await p2.receive(parseEnv(f.envelope));
    return { signature: done.result!, fromSigner: f.signature! };
  } catch (e) {
    stream.cancel();
    throw e;
  }
}

/** The development permit key the signer exported for the local coordinator. */
export function devPermitKey(dataDir: string): { keyId: string; secret: Buffer } {
  const j = JSON.parse(readFileSync(join(dataDir, 'permit-key.json'), 'utf8')) as { keyId: string; secret: string };
  return { keyId: j.keyId, secret: Buffer.from(j.secret, 'base64') };
}

export function issuePermit(
  key: { keyId: string; secret: Uint8Array },
  f: { keysetId: string; txHash: Uint8Array; permitId?: string; ttlMs?: number; issuedAtMs?: number },
): SigningPermit {
  const issued = BigInt(f.issuedAtMs ?? Date.now());
  const fields = {
    permitId: f.permitId ?? `permit-${randomBytes(8).toString('hex')}`,
    txRequestId: `wd-${randomBytes(4).toString('hex')}`,
    keysetId: f.keysetId,
    txHash: Buffer.from(f.txHash),
    issuedAtMs: issued,
    expiresAtMs: issued + BigInt(f.ttlMs ?? 60_000),
    keyId: key.keyId,
  };
  return { ...fields, mac: permitMac(key.secret, fields) };
}

/** A rebind permit as the coordinator issues it once an administrator approved the move. */
export function issueRebindPermit(
  key: { keyId: string; secret: Uint8Array },
  f: { keysetId: string; devicePublicKey: Uint8Array; permitId?: string; ttlMs?: number; issuedAtMs?: number },
): RebindPermit {
  const issued = BigInt(f.issuedAtMs ?? Date.now());
  const fields = {
    permitId: f.permitId ?? `rebind-${randomBytes(8).toString('hex')}`,
    keysetId: f.keysetId,
    devicePublicKey: Buffer.from(f.devicePublicKey),
    issuedAtMs: issued,
    expiresAtMs: issued + BigInt(f.ttlMs ?? 60_000),
    keyId: key.keyId,
  };
  return { ...fields, mac: rebindPermitMac(key.secret, fields) };
}

/** Starts a signing up to SIGN-5 with an honest P2; returns the session id and P2's SIGN-5. */
export async function signUpToSign5(
  client: MPCSignerClient,
  device: Device,
  keysetId: string,
  m32: Uint8Array,
  payload: { unsignedTx?: Uint8Array; personalMessage?: Uint8Array },
  permit: SigningPermit,
): Promise<{ sessionId: string; sign5: Envelope; p2: P2Signer }> {
  const p2 = device.signer(m32);
  const s = await call<{ sessionId: string; envelope: Buffer }>(client, 'startSigning', {
    keysetId,
    permit,
    ...payload,
    envelope: envBytes(p2.start().send!),
  });
  const sign3 = (await p2.receive(parseEnv(s.envelope))).send!;
  const r = await call<{ envelope: Buffer }>(client, 'signingRound', {
    sessionId: s.sessionId,
    envelope: envBytes(sign3),
  });
  return { sessionId: s.sessionId, sign5: (await p2.receive(parseEnv(r.envelope))).send!, p2 };
}

// ---- The signer as a child process, and read-only access to its database ----
// (crash, storage and secrets tests: a real `node src/main.ts` that can be killed with SIGKILL.)

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const DAEMON_DIR = fileURLToPath(new URL('..', import.meta.url));

/** <dataDir>/signer.db opened read-only; the signer keeps writing through its own connection. */
export function readDb(dataDir: string): Database.Database {
  return new Database(join(dataDir, 'signer.db'), { readonly: true, fileMustExist: true });
}

/** A client with the development PKI that a signer generated under <dataDir>/tls. */
export function connectDev(port: number, dataDir: string): MPCSignerClient {
  const tls = (f: string) => join(dataDir, 'tls', f);
  return connect(port, tls('ca.pem'), tls('client.pem'), tls('client-key.pem'));
}

export interface ChildOutput {
  stdout: string;
  stderr: string;
}

export interface ChildSigner {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly client: MPCSignerClient;
  readonly output: ChildOutput;
  /** SIGTERM (graceful shutdown); resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
  /** SIGKILL to this child only; resolves once it is gone. */
  kill(): Promise<void>;
}

function spawnSigner(dataDir: string, env: Record<string, string>) {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('TANDEM_') && k !== 'NODE_TEST_CONTEXT') base[k] = v;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: DAEMON_DIR,
    env: {
      ...base,
      TANDEM_SIGNER_DATA_DIR: dataDir,
      TANDEM_SIGNER_PORT: '0', // the 'signer listening' line says which port it got
      TANDEM_SIGNER_OPS_PORT: '-1',
      TANDEM_SIGNER_LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: ChildOutput = { stdout: '', stderr: '' };
  const logFile = join(dataDir, 'child-signer.log');
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    output.stdout += s;
    appendFileSync(logFile, s);
  });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => void (output.stderr += s));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    proc.once('close', (code, signal) => ok({ code, signal })),
  );
  const listening = new Promise<number>((ok, fail) => {
    let seen = 0;
    const look = () => {
      const lines = output.stdout.split('\n');
      for (; seen < lines.length - 1; seen++) {
        const line = lines[seen]!;
        if (!line.includes('"signer listening"')) continue;
        ok((JSON.parse(line) as { port: number }).port);
      }
    };
    proc.stdout!.on('data', look);
    void closed.then(({ code, signal }) =>
      fail(new Error(`signer exited (code ${code}, signal ${signal}) before listening:\n${output.stderr}`)),
    );
  });
  return { proc, output, closed, listening };
}

/** Starts `node src/main.ts` on `dataDir` and waits for its 'signer listening' log line. */
export async function startChildSigner(dataDir: string, env: Record<string, string> = {}): Promise<ChildSigner> {
  const { proc, output, closed, listening } = spawnSigner(dataDir, env);
  const port = await listening;
  const client = connectDev(port, dataDir);
  return {
    proc,
    port,
    client,
    output,
    async stop() {
      client.close();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return (await closed).code;
    },
    async kill() {
      client.close();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await closed;
    },
  };
}

/**
 * Runs `node src/main.ts` on `dataDir` expecting it to refuse to start. If it starts listening
 * anyway it is stopped and `listening` is true.
 */
export async function runChildSignerToExit(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ChildOutput & { code: number | null; listening: boolean }> {
  const { proc, output, closed, listening } = spawnSigner(dataDir, env);
  const started = await listening.then(
    () => true,
    () => false,
  );
  if (started) proc.kill('SIGTERM');
  const { code } = await closed;
  return { ...output, code, listening: started };
}
