// `npm run -s bench -w signer-daemon [-- --json] [--sequential N] [--concurrent N] [--keysets K]`
//
// Drives signing sessions through a real signer daemon (a child process: gRPC over mutual TLS
// on 127.0.0.1, SQLite, the full protocol profile), with the desktop's P2 in this process.
// Prints sequential latency (p50/p99), throughput with N concurrent sessions (each over its
// own message, every signature checked against its own digest: none lost, none crossed), the
// signer's CPU per signature (from /proc, workers included) and the in-process reference.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { precomputeEncryptionMask, signatureMatches } from '@tandem/tecdsa/sign';
import { freshParties, runDkg, runSign } from '@tandem/tecdsa/runLocal';
import { ModPowPool } from '@tandem/tecdsa/modpowPool';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { Point } from '@tandem/tecdsa/curve';
import {
  Device,
  call,
  connect,
  devPermitKey,
  issuePermit,
  mp,
  ringPedersen,
  signThrough,
  tempDir,
} from '../test/harness.ts';

const args = process.argv.slice(2);
const num = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const json = args.includes('--json');
const SEQUENTIAL = num('--sequential', 30);
const CONCURRENT = num('--concurrent', 50);
const KEYSETS = num('--keysets', 5);
const log = (s: string) => process.stderr.write(s + '\n');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

/** utime + stime of a process and its threads, in ms. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

async function inProcessReference(runs: number): Promise<number> {
  // Each party on the backend it uses here: P1 the signer's worker pool, P2 one thread (as a desktop).
  const pool = new ModPowPool();
  const parties = freshParties(pool, FULL, systemRng, mp);
  const dkg = await runDkg(parties, ringPedersen(), { requestId: randomBytes(32), walletId: randomBytes(32) });
  const ms: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const mask = precomputeEncryptionMask(parties, dkg.share2.N);
    const t0 = performance.now();
    await runSign(parties, dkg, randomBytes(32), randomBytes(32), { encryptionMask: mask });
    if (i >= 2) ms.push(performance.now() - t0);
  }
  pool.close();
  return median(ms);
}

async function main() {
  const dataDir = tempDir('tandem-signer-bench-');
  const port = await freePort();
  const daemonMain = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', daemonMain], {
    env: {
      ...process.env,
      TANDEM_SIGNER_DATA_DIR: dataDir,
      TANDEM_SIGNER_PORT: String(port),
      TANDEM_SIGNER_OPS_PORT: '-1',
      TANDEM_SIGNER_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('signer did not start')), 30_000);
      child.once('exit', (c) => fail(new Error(`signer exited with ${c}`)));
      // warn level hides the 'listening' line: poll the port with a real call instead.
      const poll = async () => {
        try {
          const tls = join(dataDir, 'tls');
          const c = connect(port, join(tls, 'ca.pem'), join(tls, 'client.pem'), join(tls, 'client-key.pem'));
          await call(c, 'getSignerInfo', {});
          c.close();
          clearTimeout(timer);
          ok();
        } catch {
          setTimeout(() => void poll(), 200);
        }
      };
      void poll();
    });
    const tls = join(dataDir, 'tls');
    const client = connect(port, join(tls, 'ca.pem'), join(tls, 'client.pem'), join(tls, 'client-key.pem'));
    const info = await call<{ identityPublicKey: Buffer }>(client, 'getSignerInfo', {});
    const key = devPermitKey(dataDir);

    log(`signer pid ${child.pid} on 127.0.0.1:${port}; ring-Pedersen setup and ${KEYSETS} DKGs…`);
    ringPedersen();
    const devices: { device: Device; keysetId: string }[] = [];
    for (let k = 0; k < KEYSETS; k++) {
      const device = new Device(info.identityPublicKey);
      const keysetId = `bench-${k}`;
      await device.dkg(client, keysetId);
      devices.push({ device, keysetId });
    }
    // Precomputation allowed by the targets: P2's encryption masks, made off the clock.
    const perDevice = Math.ceil((SEQUENTIAL + CONCURRENT + 10) / KEYSETS) + 2;
    for (const { device } of devices)
      for (let i = 0; i < perDevice; i++)
        device.encryptionMasks.push(precomputeEncryptionMask({ modPow: mp, rng: systemRng }, device.share!.N));

    const signOne = async (i: number) => {
      const { device, keysetId } = devices[i % devices.length]!;
      const message = Buffer.from(`bench message ${i} ${randomBytes(8).toString('hex')}`);
      const m32 = txDigest({ type: 'personal', message });
      const permit = issuePermit(key, { keysetId, txHash: m32 });
      const t0 = performance.now();
      const { signature } = await signThrough(client, device, keysetId, m32, { personalMessage: message }, permit);
      const ms = performance.now() - t0;
      const Q = Point.fromBytes(device.share!.Q.toBytes(true));
      return { ms, ok: signatureMatches(signature, m32, Q) };
    };

    for (let i = 0; i < 10; i++) await signOne(i); // warm-up
    const cpu0 = cpuMs(child.pid!);
    const seq: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const r = await signOne(i);
      if (!r.ok) throw new Error('a sequential signature did not verify');
      seq.push(r.ms);
    }
    const p1CpuPerSig = (cpuMs(child.pid!) - cpu0) / SEQUENTIAL;

    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: CONCURRENT }, (_, i) => signOne(i)));
    const wall = performance.now() - t0;
    const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.filter((r) => r.status === 'rejected').length;
    const crossed = done.filter((r) => !r.ok).length;
    const conc = done.map((r) => r.ms);
    client.close();

    log('measuring the in-process reference (same machine, same profile)…');
    const inProc = await inProcessReference(10);

    const rows = [
      ['sequential signing over gRPC+mTLS, p50', `${median(seq).toFixed(1)} ms`],
      ['sequential signing, p99', `${pct(seq, 99).toFixed(1)} ms`],
      ['in-process signing (tecdsa, same profile), p50', `${inProc.toFixed(1)} ms`],
      ['ratio gRPC / in-process (target ≤ 2)', (median(seq) / inProc).toFixed(2)],
      ['signer CPU per signature (P1, from /proc)', `${p1CpuPerSig.toFixed(1)} ms`],
      [`${CONCURRENT} concurrent sessions: wall`, `${wall.toFixed(0)} ms`],
      [`${CONCURRENT} concurrent: signatures/s`, (done.length / (wall / 1000)).toFixed(1)],
      [`${CONCURRENT} concurrent: p50 / p99 latency`, `${median(conc).toFixed(0)} / ${pct(conc, 99).toFixed(0)} ms`],
      [`${CONCURRENT} concurrent: lost / crossed`, `${failed} / ${crossed}`],
    ];
    const w = Math.max(...rows.map((r) => r[0]!.length));
    log(`\nsigner-daemon benchmark (|N| = ${FULL.nBits}, m = ${FULL.m}, ${KEYSETS} keysets, Node ${process.version})`);
    for (const [k, v] of rows) log(`  ${k!.padEnd(w)}  ${v}`);
    const summary = {
      sign_grpc_ms_p50: +median(seq).toFixed(1),
      sign_grpc_ms_p99: +pct(seq, 99).toFixed(1),
      sign_inprocess_ms_p50: +inProc.toFixed(1),
      ratio: +(median(seq) / inProc).toFixed(2),
      p1_cpu_ms_per_signature: +p1CpuPerSig.toFixed(1),
      concurrent: CONCURRENT,
      concurrent_signatures_per_s: +(done.length / (wall / 1000)).toFixed(1),
      concurrent_ms_p50: +median(conc).toFixed(1),
      concurrent_ms_p99: +pct(conc, 99).toFixed(1),
      lost: failed,
      crossed,
    };
    if (json) process.stdout.write(JSON.stringify(summary) + '\n');
    if (failed || crossed) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
