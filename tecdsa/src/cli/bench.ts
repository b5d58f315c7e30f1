// `npm run -s bench -w tecdsa -- [--json] [--runs N] [--profile full|test|both] [--backend pool|openssl|bigint]`
// Both parties' compute in one process (the relay is in memory, so wall time = compute).
// Prints a table (median/min/max per phase and party, bytes on the wire) and, with --json,
// ends with one JSON line of the default-profile figures.

import { identityFromSeed } from '../envelope.ts';
import { bigintModPow, type ModPow } from '../arith.ts';
import { nativeModPow } from '../modpowNative.ts';
import { ModPowPool } from '../modpowPool.ts';
import { FULL, TEST, type Profile } from '../params.ts';
import { generateRingPedersen } from '../ringPedersen.ts';
import { systemRng } from '../rng.ts';
import { runDkg, runSign } from '../runLocal.ts';
import { precomputeEncryptionMask } from '../sign.ts';
import { type Envelope, envelopeToJson } from '../envelope.ts';
import { UsageError, parseArgs } from './args.ts';

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor((s.length - 1) / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};
const wire = (es: Envelope[]) => es.reduce((n, e) => n + Buffer.byteLength(envelopeToJson(e)), 0);
const binary = (es: Envelope[]) => es.reduce((n, e) => n + e.body.length, 0);

async function benchProfile(profile: Profile, runs: number, modPow: ModPow) {
  const rng = systemRng;
  let t = performance.now();
  const rp = generateRingPedersen(modPow, rng, profile.nHatBits);
  const rpMs = performance.now() - t;
  const l = {
    p1: identityFromSeed(rng.bytes(32)),
    p2: identityFromSeed(rng.bytes(32)),
    rng,
    modPow,
    profile,
    now: Date.now,
  };
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number) => (rows[k] ??= []).push(v);
  let dkgBytes = 0,
    dkgBody = 0,
    signBytes = 0,
    signBody = 0;
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    const dkg = await runDkg(l, rp, { requestId: rng.bytes(32), walletId: rng.bytes(32) });
    add('dkg total', performance.now() - t);
    add('dkg P1', dkg.ms.P1);
    add('dkg P2', dkg.ms.P2);
    dkgBytes = wire(dkg.envelopes);
    dkgBody = binary(dkg.envelopes);
    for (let j = 0; j < 2; j++) {
      t = performance.now();
      const full = await runSign(l, dkg, rng.bytes(32), rng.bytes(32));
      add('sign, no precomputation', performance.now() - t);
      add('sign P1', full.ms.P1);
      add('sign P2, no precomputation', full.ms.P2);
      t = performance.now();
      const mask = precomputeEncryptionMask(l, dkg.share2.N);
      add('P2 offline r_enc^N', performance.now() - t);
      t = performance.now();
      const online = await runSign(l, dkg, rng.bytes(32), rng.bytes(32), { encryptionMask: mask });
      add('sign online', performance.now() - t);
      add('sign P2 online', online.ms.P2);
      signBytes = wire(online.envelopes);
      signBody = binary(online.envelopes);
    }
  }
  return { profile, rpMs, rows, dkgBytes, dkgBody, signBytes, signBody };
}

async function main() {
  const a = parseArgs(process.argv.slice(2), {
    json: 'flag',
    runs: 'value',
    profile: 'value',
    backend: 'value',
  } as const);
  const runs = a.runs === undefined ? 10 : Number(a.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError('--runs must be a positive integer');
  const which = String(a.profile ?? 'full');
  const profiles = which === 'both' ? [FULL, TEST] : which === 'full' ? [FULL] : which === 'test' ? [TEST] : undefined;
  if (!profiles) throw new UsageError('--profile must be full, test or both');
  const backend = String(a.backend ?? 'pool');
  const native = nativeModPow();
  const modPow =
    backend === 'bigint'
      ? bigintModPow
      : backend === 'openssl'
        ? native
        : backend === 'pool' && native
          ? new ModPowPool()
          : undefined;
  if (!modPow) throw new UsageError('--backend must be pool or openssl (if this runtime has OpenSSL) or bigint');
  const out = console.log;
  out(
    `tecdsa benchmark: ${runs} runs per profile, modpow backend ${modPow.name}, ${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
  );
  const results = [];
  for (const p of profiles) {
    const r = await benchProfile(p, runs, modPow);
    results.push(r);
    out(`\nprofile ${p.name}: |N| = ${p.nBits}, |N̂| = ${p.nHatBits}, m = ${p.m}`);
    out(`  desktop one-time ring-Pedersen setup: ${r.rpMs.toFixed(0)} ms (not in DKG)`);
    out('  phase                          p50 ms    min ms    max ms');
    for (const [k, xs] of Object.entries(r.rows)) {
      const s = stats(xs);
      out(
        `  ${k.padEnd(28)} ${s.p50.toFixed(1).padStart(8)}  ${s.min.toFixed(1).padStart(8)}  ${s.max.toFixed(1).padStart(8)}`,
      );
    }
    out(
      `  bytes: DKG ${r.dkgBytes} on the wire as JSON envelopes (${r.dkgBody} binary body bytes); signing ${r.signBytes} (${r.signBody})`,
    );
  }
  if (a.json) {
    const r = results[0]!;
    const p50 = (k: string) => Number(stats(r.rows[k]!).p50.toFixed(1));
    out(
      JSON.stringify({
        profile: r.profile.name,
        backend: modPow.name,
        runs,
        dkg_ms_p50: p50('dkg total'),
        dkg_p1_ms_p50: p50('dkg P1'),
        dkg_p2_ms_p50: p50('dkg P2'),
        sign_ms_p50: p50('sign online'),
        sign_full_ms_p50: p50('sign, no precomputation'),
        sign_p1_ms_p50: p50('sign P1'),
        sign_p2_online_ms_p50: p50('sign P2 online'),
        rp_setup_ms: Math.round(r.rpMs),
        dkg_bytes: r.dkgBytes,
        sign_bytes: r.signBytes,
        dkg_body_bytes: r.dkgBody,
        sign_body_bytes: r.signBody,
      }),
    );
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
