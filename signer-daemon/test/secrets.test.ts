// Secrets never leave the sealed rows (DESIGN.md "The bank share on disk", PROTOCOL.md §9.3 item
// 5, §11): after a DKG, two signatures, a refused permit, malformed messages and a freeze, the
// P1 share's x1 and Paillier primes, the permit key, the signer's identity seed and the KEK appear
// nowhere in the log, in any file of the data directory (database, WAL, shared memory, TLS files)
// or in any error a client received, in any of the usual spellings. The search itself is checked
// to find each spelling, on made-up input and on the two files that do hold secrets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { serializeTransaction } from 'viem';
import { parseP1Share } from '@tandem/tecdsa/shares';
import { bigToBytes, bigToMinBytes } from '@tandem/tecdsa/bytes';
import { decodeSign5, encodeSign5 } from '@tandem/tecdsa/messages';
import { encrypt } from '@tandem/tecdsa/paillier';
import { signEnvelope, type Envelope } from '@tandem/tecdsa/envelope';
import { parseSigningPayload, txDigest } from '@tandem/tecdsa/txDigest';
import { uniformUnit, systemRng } from '@tandem/tecdsa/rng';
import { aesGcmKek, associatedData } from '../src/store/kek.ts';
import {
  CallFailed,
  Device,
  call,
  devPermitKey,
  envBytes,
  issuePermit,
  mp,
  readDb,
  refused,
  signThrough,
  signUpToSign5,
  startTestSigner,
  type TestSigner,
} from './harness.ts';

let t: TestSigner;
let device: Device;
const KS = 'secrets-ks';
/** Every error a client received, as it received it (code and message). */
const errors: string[] = [];
const message = Buffer.from('secrets tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };
const permit = (txHash = m32) => issuePermit(devPermitKey(t.dataDir), { keysetId: KS, txHash });

async function fails(p: Promise<unknown>, code: string): Promise<void> {
  const e = await refused(p, code);
  errors.push(`${e.code} ${e.status} ${e.message}`);
}

function resign(env: Envelope, body: Uint8Array): Buffer {
  const { sig: _sig, ...unsigned } = env;
  void _sig;
  return envBytes(signEnvelope(device.identity, { ...unsigned, body }));
}

before(async () => {
  t = await startTestSigner();
  const info = await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {});
  device = new Device(info.identityPublicKey);

  // A DKG and two signatures (a transaction and a personal message).
  await device.dkg(t.client, KS);
  const tx = Buffer.from(
    serializeTransaction({
      type: 'eip1559',
      chainId: 31337,
      nonce: 1,
      maxPriorityFeePerGas: 1n,
      maxFeePerGas: 2n,
      gas: 21_000n,
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      value: 5n,
    }).slice(2),
    'hex',
  );
  const txHash = txDigest(parseSigningPayload(tx));
  await signThrough(t.client, device, KS, txHash, { unsignedTx: tx }, permit(txHash));
  await signThrough(t.client, device, KS, m32, payload, permit());

  // Refused permits: a bad MAC, and one for another digest.
  await fails(signThrough(t.client, device, KS, m32, payload, { ...permit(), mac: randomBytes(32) }), 'PERMIT_INVALID');
  await fails(signThrough(t.client, device, KS, m32, payload, permit(randomBytes(32))), 'PERMIT_HASH_MISMATCH');

  // Malformed messages: a truncated SIGN-3, and SIGN-5 with c3 = 0 and c3 = N.
  const N = device.share!.N;
  const N2 = N * N;
  const a = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  await fails(
    call(t.client, 'signingRound', { sessionId: a.sessionId, envelope: Buffer.from('{"v":1,"kind"') }),
    'E_DECODE',
  );
  await fails(
    call(t.client, 'finalizeSigning', {
      sessionId: a.sessionId,
      envelope: resign(a.sign5, encodeSign5({ c3: 0n }, N)),
    }),
    'E_CIPHERTEXT',
  );
  const b = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  await fails(
    call(t.client, 'finalizeSigning', { sessionId: b.sessionId, envelope: resign(b.sign5, encodeSign5({ c3: N }, N)) }),
    'E_CIPHERTEXT',
  );

  // Last, a failure past decryption (a c3 of the wrong plaintext): the keyset freezes, and the
  // reply and the log must not carry anything derived from the decryption.
  const c = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  const { c3 } = decodeSign5(c.sign5.body, N);
  const wrong = (c3 * encrypt(mp, { N, N2 }, 1n, uniformUnit(systemRng, N))) % N2;
  await fails(
    call(t.client, 'finalizeSigning', {
      sessionId: c.sessionId,
      envelope: resign(c.sign5, encodeSign5({ c3: wrong }, N)),
    }),
    'E_SIGNING_FAILED',
  );
  await fails(signThrough(t.client, device, KS, m32, payload, permit()), 'KEYSET_FROZEN');
});
after(async () => {
  t?.client.close();
  await t?.signer.close();
  if (t) rmSync(t.dataDir, { recursive: true, force: true }); // holds a KEK and a share
});

// ---------- the secrets and how they could be spelled ----------

interface Needle {
  secret: string;
  form: string;
  /** Raw bytes are matched exactly; text forms are matched as ASCII, hex case-insensitively. */
  bytes: Buffer;
  caseless: boolean;
}

function spellings(secret: string, raw: Buffer, value?: bigint): Needle[] {
  const out: Needle[] = [];
  const add = (form: string, bytes: Buffer, caseless = false) => out.push({ secret, form, bytes, caseless });
  add('raw bytes', raw);
  add('raw bytes, first 16', raw.subarray(0, 16));
  add('hex', Buffer.from(raw.toString('hex')), true);
  add('hex, first 32 digits', Buffer.from(raw.toString('hex').slice(0, 32)), true);
  add('base64', Buffer.from(raw.toString('base64')));
  add('base64url', Buffer.from(raw.toString('base64url')));
  add('JSON byte array', Buffer.from(Array.from(raw).join(','))); // how a logged Buffer serialises
  if (value !== undefined) {
    add('decimal', Buffer.from(value.toString(10)));
    add('decimal, first 24 digits', Buffer.from(value.toString(10).slice(0, 24)));
    add('hex without padding', Buffer.from(value.toString(16)), true);
  }
  return out;
}

interface Secrets {
  x1: bigint;
  p: bigint;
  q: bigint;
  kekHex: string;
  permitSecret: Buffer;
  identitySeed: Buffer;
  shareBlob: Buffer;
}

/** Opens the sealed rows with the daemon's KEK, the way the daemon does. */
function readSecrets(): Secrets {
  const kekHex = readFileSync(join(t.dataDir, 'kek.hex'), 'utf8').trim();
  const kek = aesGcmKek(Buffer.from(kekHex, 'hex'));
  const db = readDb(t.dataDir);
  try {
    const row = db.prepare('SELECT share_sealed, version FROM keysets WHERE keyset_id = ?').get(KS) as {
      share_sealed: Buffer;
      version: number;
    };
    const shareBlob = kek.open(row.share_sealed, associatedData('tandem-p1-share', KS, row.version));
    const share = parseP1Share(shareBlob, mp);
    const seed = db.prepare("SELECT value FROM settings WHERE name = 'identity_seed'").pluck().get() as Buffer;
    const identitySeed = kek.open(seed, associatedData('tandem-signer-identity', 1));
    return {
      x1: share.x1,
      p: share.paillier.p,
      q: share.paillier.q,
      kekHex,
      permitSecret: devPermitKey(t.dataDir).secret,
      identitySeed,
      shareBlob,
    };
  } finally {
    db.close();
  }
}

function needlesOf(s: Secrets): Needle[] {
  return [
    ...spellings('x1', Buffer.from(bigToBytes(s.x1, 32)), s.x1),
    ...spellings('Paillier p', Buffer.from(bigToMinBytes(s.p)), s.p),
    ...spellings('Paillier q', Buffer.from(bigToMinBytes(s.q)), s.q),
    ...spellings('permit key', s.permitSecret),
    ...spellings('identity seed', s.identitySeed),
    ...spellings('KEK', Buffer.from(s.kekHex, 'hex')),
  ];
}

/** The needles found in `haystack`, as "secret (form)". */
function search(haystack: Buffer, needles: Needle[]): string[] {
  const lower = Buffer.from(haystack.toString('latin1').toLowerCase(), 'latin1');
  return needles
    .filter((n) =>
      n.caseless ? lower.includes(n.bytes.toString('latin1').toLowerCase(), 0, 'latin1') : haystack.includes(n.bytes),
    )
    .map((n) => `${n.secret} (${n.form})`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Every file of the data directory except the two that hold secrets by design. */
function dataFiles(): string[] {
  const files = filesUnder(t.dataDir).filter((f) => !['kek.hex', 'permit-key.json'].includes(relative(t.dataDir, f)));
  return files;
}

// ---------- the search finds what it looks for ----------

test('the search finds every spelling of every secret (so zero hits below means something)', () => {
  const s = readSecrets();
  const needles = needlesOf(s);
  for (const n of needles) {
    const text = n.caseless ? Buffer.from(n.bytes.toString('latin1').toUpperCase(), 'latin1') : n.bytes;
    const hay = Buffer.concat([randomBytes(1000), Buffer.from('{"msg":"'), text, Buffer.from('"}'), randomBytes(1000)]);
    assert.ok(search(hay, [n]).length === 1, `${n.secret} (${n.form}) is found`);
  }
  assert.deepEqual(search(randomBytes(1 << 20), needles), [], 'and nothing is found in noise');
  // On real files: the KEK file holds the KEK, the exported permit key file the permit key, and
  // the opened share blob x1 and both primes.
  assert.ok(search(readFileSync(join(t.dataDir, 'kek.hex')), needles).includes('KEK (hex)'));
  assert.ok(search(readFileSync(join(t.dataDir, 'permit-key.json')), needles).includes('permit key (base64)'));
  const inShare = search(s.shareBlob, needles);
  for (const want of ['x1 (raw bytes)', 'Paillier p (raw bytes)', 'Paillier q (raw bytes)'])
    assert.ok(inShare.includes(want), want);
  // And the files we search are the real ones, sealed rows included.
  const names = dataFiles().map((f) => relative(t.dataDir, f));
  for (const want of ['signer.db', 'signer.log', 'tls/server-key.pem']) assert.ok(names.includes(want), want);
});

// ---------- zero hits ----------

test('no secret in the log, the data directory (while running) or any error a client received', () => {
  const needles = needlesOf(readSecrets());
  assert.ok(errors.length >= 7, 'the refusals above were all recorded');
  const hits: string[] = [];
  for (const f of dataFiles())
    for (const h of search(readFileSync(f), needles)) hits.push(`${relative(t.dataDir, f)}: ${h}`);
  for (const [i, e] of errors.entries()) for (const h of search(Buffer.from(e), needles)) hits.push(`error ${i}: ${h}`);
  assert.deepEqual(hits, []);
  const names = dataFiles().map((f) => relative(t.dataDir, f));
  assert.ok(names.includes('signer.db-wal'), 'the WAL was searched while it held recent pages');
  // The refusals said no more than their code and a plain sentence.
  for (const e of errors) assert.doesNotMatch(e, /[0-9a-f]{32,}|\d{20,}/i, e);
});

test('no secret in the data directory after a clean shutdown (database checkpointed)', async () => {
  const needles = needlesOf(readSecrets());
  t.client.close();
  await t.signer.close();
  const hits: string[] = [];
  for (const f of dataFiles())
    for (const h of search(readFileSync(f), needles)) hits.push(`${relative(t.dataDir, f)}: ${h}`);
  assert.deepEqual(hits, []);
  assert.ok(readFileSync(t.logFile).includes('"signer stopped"'), 'the whole log was written');
});

test('a leak in a client error or a log line would be caught', () => {
  const s = readSecrets();
  const x1hex = Buffer.from(bigToBytes(s.x1, 32)).toString('hex');
  const error = new CallFailed(3, 'E_DECODE', `bad value ${x1hex}`);
  assert.ok(search(Buffer.from(`${error.code} ${error.message}`), needlesOf(s)).includes('x1 (hex)'));
  const logLine = JSON.stringify({ level: 50, p: s.p.toString(), seed: s.identitySeed });
  const found = search(Buffer.from(logLine), needlesOf(s));
  assert.ok(found.includes('Paillier p (decimal)') && found.includes('identity seed (JSON byte array)'), found.join());
});
