// Draws media/icon.png (128×128): a flame on a dark rounded square. Node built-ins only; run
// `node scripts/make-icon.mjs` after changing the drawing. The PNG is committed.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const SS = 4; // supersampling per axis

/** Inside a teardrop with its tip at (tx, ty) and its round part centred at (ox, oy), radius r. */
function teardrop(x, y, tx, ty, ox, oy, r) {
  if ((x - ox) ** 2 + (y - oy) ** 2 <= r * r) return true;
  const dx = ox - tx,
    dy = oy - ty,
    d = Math.hypot(dx, dy);
  const ux = dx / d,
    uy = dy / d,
    alpha = Math.asin(r / d);
  const vx = x - tx,
    vy = y - ty;
  const along = vx * ux + vy * uy;
  const perp = Math.abs(vx * uy - vy * ux);
  return along >= 0 && along <= d * Math.cos(alpha) ** 2 && perp <= along * Math.tan(alpha);
}

/** Bends the upper part of a flame sideways, like a flicker. */
const bend = (x, y, base, amount) => x - (y < base ? amount * ((base - y) / base) ** 2 : 0);

function roundedSquare(x, y, inset, radius) {
  const lo = inset,
    hi = SIZE - inset;
  const cx = Math.min(Math.max(x, lo + radius), hi - radius);
  const cy = Math.min(Math.max(y, lo + radius), hi - radius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius && x >= lo && x <= hi && y >= lo && y <= hi;
}

function colourAt(x, y) {
  // Layers from top to bottom: inner flame, outer flame, background.
  if (teardrop(bend(x, y, 86, -10), y, 64, 52, 64, 92, 15)) return [255, 228, 110, 255];
  if (teardrop(bend(x, y, 84, 14), y, 60, 14, 64, 84, 30)) {
    const t = Math.min(Math.max((y - 14) / 100, 0), 1); // red-orange at the tip to amber at the base
    return [255, Math.round(84 + 100 * t), Math.round(20 + 20 * t), 255];
  }
  if (roundedSquare(x, y, 4, 22)) {
    const t = y / SIZE;
    return [Math.round(40 - 12 * t), Math.round(30 - 10 * t), Math.round(46 - 10 * t), 255];
  }
  return [0, 0, 0, 0];
}

const raw = Buffer.alloc((SIZE * 4 + 1) * SIZE);
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0; // filter: none
  for (let x = 0; x < SIZE; x++) {
    const acc = [0, 0, 0, 0];
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const c = colourAt(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS);
        // Premultiply so edges against transparency blend cleanly.
        acc[0] += c[0] * c[3];
        acc[1] += c[1] * c[3];
        acc[2] += c[2] * c[3];
        acc[3] += c[3];
      }
    }
    const o = y * (SIZE * 4 + 1) + 1 + x * 4;
    const a = acc[3] / (SS * SS);
    raw[o] = acc[3] ? Math.round(acc[0] / acc[3]) : 0;
    raw[o + 1] = acc[3] ? Math.round(acc[1] / acc[3]) : 0;
    raw[o + 2] = acc[3] ? Math.round(acc[2] / acc[3]) : 0;
    raw[o + 3] = Math.round(a);
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
writeFileSync(new URL('../media/icon.png', import.meta.url), png);
console.log(`media/icon.png: ${png.length} bytes`);
