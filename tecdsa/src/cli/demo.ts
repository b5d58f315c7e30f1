// `npm run -s demo -w tecdsa -- --message 0x<64 hex> --json [--transcript FILE] [--profile full|test]`
// Runs a whole DKG and one signing in this process (both parties, envelopes relayed in
// memory, fresh randomness from the OS) and prints the result; with --transcript, writes
// the run in PROTOCOL.md §3.2a's transcript format.

import { writeFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '../bytes.ts';
import { identityFromSeed } from '../envelope.ts';
import { ethereumAddress } from '../address.ts';
import { bigintModPow } from '../arith.ts';
import { nativeModPow } from '../modpowNative.ts';
import { ModPowPool } from '../modpowPool.ts';
import { FULL, profileByName } from '../params.ts';
import { generateRingPedersen } from '../ringPedersen.ts';
import { systemRng } from '../rng.ts';
import { runDkg, runSign } from '../runLocal.ts';
import { makeTranscript, transcriptToJson } from '../transcript.ts';
import { TecdsaError } from '../errors.ts';
import { UsageError, parseArgs } from './args.ts';

const USAGE = 'usage: demo [--message 0x<64 hex>] [--json | --pretty] [--transcript FILE] [--profile full|test]';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    message: 'value',
    json: 'flag',
    pretty: 'flag',
    transcript: 'value',
    profile: 'value',
  } as const);
  const profile = a.profile === undefined ? FULL : profileByName(String(a.profile));
  if (!profile) throw new UsageError('--profile must be full or test');
  const msg = a.message === undefined ? '0x' + bytesToHex(systemRng.bytes(32)) : String(a.message);
  if (!/^0x[0-9a-fA-F]{64}$/.test(msg)) throw new UsageError('--message must be 0x followed by 64 hex digits');
  const m32 = hexToBytes(msg);
  const rng = systemRng;
  const modPow = nativeModPow() ? new ModPowPool() : bigintModPow;
  const say = (s: string) => {
    if (!a.json) process.stderr.write(s + '\n');
  };

  say(
    `Tandem tecdsa demo: 2-of-2 ECDSA on secp256k1, |N| = ${profile.nBits}, |N̂| = ${profile.nHatBits}, m = ${profile.m}, modpow backend: ${modPow.name}`,
  );
  let t = performance.now();
  const rp = generateRingPedersen(modPow, rng, profile.nHatBits);
  say(`  desktop one-time ring-Pedersen setup (two safe primes): ${(performance.now() - t).toFixed(0)} ms`);
  const l = {
    p1: identityFromSeed(rng.bytes(32)),
    p2: identityFromSeed(rng.bytes(32)),
    rng,
    modPow,
    profile,
    now: Date.now,
  };
  const ids = { requestId: rng.bytes(32), walletId: rng.bytes(32) };
  t = performance.now();
  const dkg = await runDkg(l, rp, ids);
  say(
    `  DKG (KG-1..KG-5): ${(performance.now() - t).toFixed(0)} ms (P1 ${dkg.ms.P1.toFixed(0)} ms, P2 ${dkg.ms.P2.toFixed(0)} ms)`,
  );
  const requestIdSign = rng.bytes(32);
  t = performance.now();
  const sig = await runSign(l, dkg, m32, requestIdSign);
  say(`  signing (SIGN-1..SIGN-6): ${(performance.now() - t).toFixed(0)} ms`);
  const Q = dkg.share1.Q;
  const out = {
    publicKey: bytesToHex(Q.toBytes(true)),
    address: ethereumAddress(Q),
    messageHash: msg,
    r: '0x' + sig.signature.r.toString(16).padStart(64, '0'),
    s: '0x' + sig.signature.s.toString(16).padStart(64, '0'),
    v: sig.signature.recid,
  };
  if (a.transcript !== undefined) {
    const tr = makeTranscript({
      profile,
      requestIdKg: ids.requestId,
      requestIdSign,
      walletId: ids.walletId,
      idpk1: l.p1.publicKey,
      idpk2: l.p2.publicKey,
      m32,
      envelopes: [...dkg.envelopes, ...sig.envelopes],
      Q,
      signature: sig.signature,
    });
    writeFileSync(String(a.transcript), transcriptToJson(tr));
    say(`  transcript (11 signed envelopes) written to ${a.transcript}`);
  }
  if (a.json) process.stdout.write(JSON.stringify(out) + '\n');
  else {
    say(`  public key  ${out.publicKey}\n  address     ${out.address}\n  message     ${out.messageHash}`);
    say(`  signature   r = ${out.r}\n              s = ${out.s}\n              v = ${out.v}`);
    say('  The joint private key never existed: each party held only its share.');
  }
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`demo failed: ${e instanceof TecdsaError ? e.message : String(e)}\n`);
  process.exit(1);
});
