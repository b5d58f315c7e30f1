// Draws Tandem's icon and writes the PNGs the packager uses (committed under desktop/build/, regenerate with
//   npx tsx desktop/scripts/packageIcon.ts
// ): build/icon.png at 1024 px, from which electron-builder derives the macOS .icns and the Windows .ico, and
// build/icons/<n>x<n>.png, the hicolor sizes a Linux desktop picks from.
//
// The picture: two interlocked rings, the two key shares, on a rounded square. It is drawn with signed distances per
// pixel, so every size is rendered sharp rather than scaled down, and the output is the same on every run.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

export const LINUX_ICON_SIZES = [16, 32, 48, 64, 128, 256, 512] as const;
export const buildDir = fileURLToPath(new URL('../build/', import.meta.url));

type Rgb = readonly [number, number, number];
const TOP: Rgb = [16, 74, 92];
const BOTTOM: Rgb = [9, 42, 56];
const LEFT_RING: Rgb = [246, 249, 250];
const RIGHT_RING: Rgb = [94, 230, 193];

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Signed distance to a square of half-size h with corner radius r, centred on the origin. */
function roundedSquare(x: number, y: number, h: number, r: number): number {
  const qx = Math.abs(x) - h + r;
  const qy = Math.abs(y) - h + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

/** Signed distance to a ring of radius r and width w around (cx, cy). */
function ring(x: number, y: number, cx: number, cy: number, r: number, w: number): number {
  return Math.abs(Math.hypot(x - cx, y - cy) - r) - w / 2;
}

/** The icon as straight (non-premultiplied) RGBA, size × size. */
export function drawIcon(size: number): Buffer {
  const px = Buffer.alloc(size * size * 4);
  const unit = size / 1024; // the design is laid out on a 1024 grid
  const mix = (a: Rgb, b: Rgb, t: number): Rgb => [0, 1, 2].map((k) => a[k]! + (b[k]! - a[k]!) * t) as unknown as Rgb;
  // The rings cross at x = 0, y = ±CROSS; the upper crossing is redrawn with the left ring on top, so they interlock.
  const R = 210;
  const CX = 118;
  const CROSS = Math.sqrt(R * R - CX * CX);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      // Pixel centre in design units, origin at the middle.
      const x = (i + 0.5) / unit - 512;
      const y = (j + 0.5) / unit - 512;
      // Coverage from a distance in design units: one pixel of anti-aliasing at any size.
      const cover = (d: number) => clamp01(0.5 - d * unit);
      const bg = mix(TOP, BOTTOM, clamp01((y + 440) / 880));
      let rgb = bg;
      const over = (colour: Rgb, alpha: number) => (rgb = mix(rgb, colour, alpha));
      const left = (gap: number) => ring(x, y, -CX, 0, R, 92 + gap);
      const right = (gap: number) => ring(x, y, CX, 0, R, 92 + gap);
      // Each ring is cut out of what lies under it with a thin background-coloured gap, then painted.
      over(LEFT_RING, cover(left(0)));
      over(bg, cover(right(36)));
      over(RIGHT_RING, cover(right(0)));
      if (Math.hypot(x, y + CROSS) < 150) {
        over(bg, cover(left(36)));
        over(LEFT_RING, cover(left(0)));
      }
      const o = (j * size + i) * 4;
      px[o] = Math.round(rgb[0]);
      px[o + 1] = Math.round(rgb[1]);
      px[o + 2] = Math.round(rgb[2]);
      px[o + 3] = Math.round(cover(roundedSquare(x, y, 440, 200)) * 255);
    }
  }
  return px;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (8-bit RGBA, no interlace) of straight RGBA pixels. */
export function encodePng(rgba: Buffer, width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  // compression, filter method, interlace: all 0
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's IHDR, or null when the bytes are not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } | null {
  if (png.length < 24 || png.readUInt32BE(0) !== 0x89504e47 || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export function writeIcons(dir = buildDir): string[] {
  mkdirSync(path.join(dir, 'icons'), { recursive: true });
  const written: string[] = [];
  const write = (file: string, size: number) => {
    writeFileSync(file, encodePng(drawIcon(size), size, size));
    written.push(file);
  };
  write(path.join(dir, 'icon.png'), 1024);
  for (const n of LINUX_ICON_SIZES) write(path.join(dir, 'icons', `${n}x${n}.png`), n);
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) for (const f of writeIcons()) console.log(f);
