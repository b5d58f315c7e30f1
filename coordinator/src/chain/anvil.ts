// A local anvil node for the development stack, the demo and tests: the "local anvil node for
// the chain" that DESIGN.md promises instead of a hand-installed Ethereum client. We spawn the
// native binary from the npm package, not the node_modules/.bin wrapper: the wrapper is a Node
// process that forwards signals, so its pid is not the node's pid and stopping it can leave
// the real anvil running.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Anvil's well-known development account 0 (from the public "test test … junk" mnemonic).
 * Everyone knows this key: it funds wallets on the local chain only (dev stack, tests, demo)
 * and must never hold anything on a real network.
 */
export const ANVIL_FUNDER = {
  address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  privateKey: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
} as const;

export interface AnvilOptions {
  /** Omitted or 0: a free port on 127.0.0.1. */
  port?: number;
  chainId?: number;
  /** Interval mining; omitted: anvil mines one block per transaction (automine). */
  blockTimeSec?: number;
  /** Keep the chain across restarts: anvil loads this file at start and writes it at exit. */
  stateFile?: string;
  /** How long to wait for eth_chainId to answer. */
  startTimeoutMs?: number;
}

export interface RunningAnvil {
  rpcUrl: string;
  port: number;
  pid: number;
  /** Stops this anvil (SIGTERM, then SIGKILL after 3 s) and resolves once it has exited. */
  stop(): Promise<void>;
}

export class AnvilError extends Error {
  override readonly name = 'AnvilError';
}

// npm installs only the optional dependency that matches the machine, named after it.
const PLATFORM_PACKAGE: Record<string, string> = {
  'linux-x64': '@foundry-rs/anvil-linux-amd64',
  'linux-arm64': '@foundry-rs/anvil-linux-arm64',
  'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
  'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  'win32-x64': '@foundry-rs/anvil-win32-amd64',
};

/** The anvil binary: TANDEM_ANVIL_BIN, else the platform package that npm installed. */
export function anvilBinary(env: Record<string, string | undefined> = process.env): string {
  if (env.TANDEM_ANVIL_BIN) {
    if (!existsSync(env.TANDEM_ANVIL_BIN)) throw new AnvilError(`TANDEM_ANVIL_BIN: no file at ${env.TANDEM_ANVIL_BIN}`);
    return env.TANDEM_ANVIL_BIN;
  }
  const key = `${process.platform}-${process.arch}`;
  const pkg = PLATFORM_PACKAGE[key];
  if (!pkg) throw new AnvilError(`anvil: no @foundry-rs build for ${key}; set TANDEM_ANVIL_BIN to an anvil binary`);
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new AnvilError(
      `anvil: ${pkg} is not installed (it comes with the @foundry-rs/anvil devDependency: run npm install, ` +
        'without --omit=optional), or set TANDEM_ANVIL_BIN',
    );
  }
  const bin = join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  if (!existsSync(bin)) throw new AnvilError(`anvil: ${pkg} is installed but has no binary at ${bin}`);
  return bin;
}

/** Binds `port` (0: any) on 127.0.0.1 and lets go again; resolves with the port, or undefined if taken. */
function probePort(port: number): Promise<number | undefined> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? ok(undefined) : fail(e)));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => ok(typeof addr === 'object' && addr ? addr.port : undefined));
    });
  });
}

/** A port that was free a moment ago (the OS picks it; anvil takes it right after). */
export async function freePort(): Promise<number> {
  const port = await probePort(0);
  if (port === undefined) throw new AnvilError('no free port on 127.0.0.1');
  return port;
}

async function answersChainId(rpcUrl: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === 'string';
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => child.once('exit', () => ok()));
}

export async function startAnvil(opts: AnvilOptions = {}): Promise<RunningAnvil> {
  const int = (v: number | undefined, name: string, min: number, max: number) => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < min || v > max))
      throw new AnvilError(`anvil: ${name} must be an integer from ${min} to ${max}`);
  };
  int(opts.port, 'port', 0, 65535);
  int(opts.chainId, 'chainId', 1, Number.MAX_SAFE_INTEGER);
  int(opts.blockTimeSec, 'blockTimeSec', 1, 86_400);
  const bin = anvilBinary();
  let port = opts.port ?? 0;
  if (port === 0) port = await freePort();
  // Checked first because a node already on the port would answer our readiness probe while our
  // own anvil exits with "address in use": we would report another process's node as ours.
  else if ((await probePort(port)) === undefined) throw new AnvilError(`anvil: port ${port} on 127.0.0.1 is in use`);
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(opts.chainId ?? 31337), '--silent'];
  if (opts.blockTimeSec !== undefined) args.push('--block-time', String(opts.blockTimeSec));
  if (opts.stateFile !== undefined) args.push('--state', opts.stateFile);
  const rpcUrl = `http://127.0.0.1:${port}`;

  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // --silent hides the banner, but anvil still reports start-up failures (port taken) on stderr.
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2_000)));
  const spawnError = new Promise<Error>((ok) => child.once('error', ok));
  // If the coordinator or a test dies without calling stop(), do not leave the node behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = exited(child);
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await done;
    clearTimeout(force);
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  const alive = () => child.exitCode === null && child.signalCode === null;
  for (;;) {
    // Only while our child lives: a dead one means whatever answered is not ours.
    if ((await answersChainId(rpcUrl)) && alive()) break;
    const failed = await Promise.race([
      spawnError,
      new Promise<undefined>((ok) => setTimeout(() => ok(undefined), 50)),
    ]);
    if (failed) {
      await stop();
      throw new AnvilError(`anvil: could not start ${bin}: ${failed.message}`);
    }
    if (!alive()) {
      await stop();
      throw new AnvilError(`anvil exited during start-up (port ${port}): ${stderr.trim() || `code ${child.exitCode}`}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new AnvilError(`anvil: no answer to eth_chainId on ${rpcUrl} within ${opts.startTimeoutMs ?? 10_000} ms`);
    }
  }
  return { rpcUrl, port, pid: child.pid!, stop };
}
