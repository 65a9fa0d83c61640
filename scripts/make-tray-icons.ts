// Draws the tray icons as PNGs (no image library: a tiny RGBA rasteriser and PNG encoder).
// Run: node scripts/make-tray-icons.ts — writes assets/tray/, which is committed.
// Three states × 16/22/32/44 px, each with an @2x twin; macOS gets black "Template" images
// it tints for light and dark menu bars.
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

type State = 'ok' | 'attention' | 'action';
const COLOURS: Record<State, [number, number, number]> = { ok: [46, 158, 68], attention: [217, 154, 0], action: [209, 49, 43] };

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
function png(size: number, rgba: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  const rows = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** Coverage 0..1 of a pixel by a shape given as a signed distance (negative inside), 4×4 samples. */
function draw(size: number, paint: (x: number, y: number) => [number, number, number, number] | null): Buffer {
  const out = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const colour = paint((px + (sx + 0.5) / 4) / size, (py + (sy + 0.5) / 4) / size);
          if (!colour) continue;
          r += colour[0] * colour[3]; g += colour[1] * colour[3]; b += colour[2] * colour[3]; a += colour[3];
        }
      }
      const i = (py * size + px) * 4;
      if (a > 0) out.set([Math.round(r / a), Math.round(g / a), Math.round(b / a), Math.round((a / 16) * 255)], i);
    }
  }
  return out;
}

const dist = (x: number, y: number, cx: number, cy: number) => Math.hypot(x - cx, y - cy);
function segment(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)));
}

/** The mark inside the disc: a check (ok), or an exclamation mark (attention, action). */
function mark(state: State, x: number, y: number): boolean {
  if (state === 'ok') return Math.min(segment(x, y, 0.3, 0.52, 0.45, 0.67), segment(x, y, 0.45, 0.67, 0.72, 0.36)) < 0.07;
  return segment(x, y, 0.5, 0.27, 0.5, 0.56) < 0.075 || dist(x, y, 0.5, 0.73) < 0.08;
}

function icon(state: State, size: number, template: boolean): Buffer {
  const [r, g, b] = template ? [0, 0, 0] : COLOURS[state];
  return draw(size, (x, y) => {
    const d = dist(x, y, 0.5, 0.5);
    if (d > 0.47) return null;
    // Template images are one colour, so the states differ by shape: a ring with a check (ok),
    // a ring with "!" (attention), a filled disc with "!" cut out (action needed).
    if (template) {
      if (state !== 'action') return d > 0.36 || mark(state, x, y) ? [0, 0, 0, 1] : null;
      return mark(state, x, y) ? null : [0, 0, 0, 1];
    }
    return mark(state, x, y) ? [255, 255, 255, 1] : [r, g, b, 1];
  });
}

mkdirSync('assets/tray', { recursive: true });
for (const state of ['ok', 'attention', 'action'] as const) {
  for (const size of [16, 22, 32, 44]) {
    writeFileSync(`assets/tray/${state}-${size}.png`, png(size, icon(state, size, false)));
    writeFileSync(`assets/tray/${state}-${size}@2x.png`, png(size * 2, icon(state, size * 2, false)));
  }
  writeFileSync(`assets/tray/${state}Template.png`, png(16, icon(state, 16, true)));
  writeFileSync(`assets/tray/${state}Template@2x.png`, png(32, icon(state, 32, true)));
}
console.log('assets/tray: 3 states × 16/22/32/44 px (+@2x) and macOS templates');
