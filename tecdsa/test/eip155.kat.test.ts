// The two-party EIP-155 known-answer test of PROTOCOL.md §13.1 item 2: dealer mode fixes
// x1, x2, k1, k2; a real full-size Paillier key and the whole message flow (proofs
// included) must reproduce the published signature, in the plain and the low-s branch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hexToBytes, bytesToHex } from '../src/bytes.ts';
import { mulG, SECP256K1_N } from '../src/curve.ts';
import { ethereumAddress } from '../src/address.ts';
import { FULL, TEST } from '../src/params.ts';
import { seededRng } from '../src/rng.ts';
import { runDkg, runSign } from '../src/runLocal.ts';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { parties, ringPedersenFor } from './helpers.ts';

const fill = (b: number) => BigInt('0x' + b.toString(16).repeat(32));
const x1 = fill(0x11);
const x2 = fill(0x35);
const k2 = fill(0x22);
const payload = hexToBytes(
  'ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080',
);
const R_PUBLISHED = 18515461264373351373200002665853028612451056578545711640558177340181847433846n;
const S_PUBLISHED = 46948507304638947509940763649030358759909902576025900602547168820602576006531n;
const BRANCHES = [
  {
    name: 'plain',
    k1: 0x68d3aa4b2cab1e4cb2f4541942fb4cbea3a8105c05797922353213e21e52ac63n,
    R: '0228ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276',
  },
  {
    name: 'low-s',
    k1: 0x972c55b4d354e1b34d0babe6bd04b3401706cc8aa9cf27198aa04aaab1e394den,
    R: '0328ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276',
  },
];

test('dealer intermediates match §13.1', () => {
  assert.equal(
    bytesToHex(mulG(x1).toBytes(true)),
    '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa',
  );
  assert.equal(
    bytesToHex(mulG(x2).toBytes(true)),
    '02b21db47a75ceee5c010f69f66d48d5a017e4e2f46b47b496ddf03498c26e1cec',
  );
  assert.equal(
    bytesToHex(mulG(k2).toBytes(true)),
    '02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27',
  );
  for (const b of BRANCHES) assert.equal(bytesToHex(mulG((b.k1 * k2) % SECP256K1_N).toBytes(true)), b.R);
  assert.equal(bytesToHex(keccak_256(payload)), 'daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53');
});

for (const profile of [FULL, TEST]) {
  for (const b of BRANCHES) {
    test(`EIP-155 example through the full flow, ${b.name} branch, ${profile.name} profile`, async () => {
      const l = parties(profile, seededRng(`kat/${profile.name}/${b.name}`));
      const rng = l.rng;
      const dkg = await runDkg(
        l,
        ringPedersenFor(profile),
        { requestId: rng.bytes(32), walletId: rng.bytes(32) },
        { x1, x2 },
      );
      assert.equal(
        bytesToHex(dkg.share1.Q.toBytes(true)),
        '024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382',
      );
      assert.equal(ethereumAddress(dkg.share2.Q), '0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F');
      assert.equal(dkg.share1.paillier.N.toString(2).length, profile.nBits);
      const { signature } = await runSign(l, dkg, keccak_256(payload), rng.bytes(32), { k1: b.k1, k2 });
      assert.equal(signature.r, R_PUBLISHED);
      assert.equal(signature.s, S_PUBLISHED);
      assert.equal(signature.recid, 0);
      assert.equal(signature.recid + 35 + 2 * 1, 37);
    });
  }
}
