// The D-Bus wire format, for the few messages session-bus.ts sends and reads
// (https://dbus.freedesktop.org/doc/dbus-specification.html#message-protocol-marshaling).
// Written here rather than taken from an npm D-Bus library: the maintained ones pull in
// xml2js, event-stream and more for what is a hundred lines of marshalling.

export const MESSAGE_TYPE = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;
/** A message larger than this is refused (the protocol allows 128 MB; the bus sends us tiny ones). */
export const MAX_MESSAGE_BYTES = 1 << 20;

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;

/** A message as this client needs it: what it is, whom it answers, and its body. */
export interface BusMessage {
  type: number;
  serial: number;
  replySerial: number | null;
  path: string | null;
  interface: string | null;
  member: string | null;
  errorName: string | null;
  sender: string | null;
  body: unknown[];
}

export interface OutgoingCall {
  destination: string;
  path: string;
  interface: string;
  member: string;
  /** String arguments only: every call this client makes takes strings. */
  args?: string[];
}

class Writer {
  #buffer = Buffer.alloc(256);
  length = 0;

  #room(bytes: number): void {
    if (this.length + bytes <= this.#buffer.length) return;
    const bigger = Buffer.alloc(Math.max(this.#buffer.length * 2, this.length + bytes));
    this.#buffer.copy(bigger, 0, 0, this.length);
    this.#buffer = bigger;
  }

  align(to: number): void {
    const pad = (to - (this.length % to)) % to;
    this.#room(pad);
    this.#buffer.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  byte(value: number): void {
    this.#room(1);
    this.#buffer[this.length++] = value;
  }

  uint32(value: number): void {
    this.align(4);
    this.#room(4);
    this.#buffer.writeUInt32LE(value, this.length);
    this.length += 4;
  }

  uint32At(offset: number, value: number): void {
    this.#buffer.writeUInt32LE(value, offset);
  }

  /** `s` and `o`: a length, the UTF-8 bytes and a NUL. */
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.uint32(bytes.length);
    this.#room(bytes.length + 1);
    bytes.copy(this.#buffer, this.length);
    this.length += bytes.length;
    this.#buffer[this.length++] = 0;
  }

  /** `g`: a one-byte length, the ASCII signature and a NUL. */
  signature(value: string): void {
    this.byte(value.length);
    this.#room(value.length + 1);
    this.#buffer.write(value, this.length, 'latin1');
    this.length += value.length;
    this.#buffer[this.length++] = 0;
  }

  done(): Buffer {
    return this.#buffer.subarray(0, this.length);
  }
}

/** A method call, little-endian, with `serial`. */
export function encodeCall(serial: number, call: OutgoingCall): Buffer {
  const args = call.args ?? [];
  const w = new Writer();
  w.byte(0x6c); // 'l': little-endian
  w.byte(MESSAGE_TYPE.methodCall);
  w.byte(0); // flags
  w.byte(1); // protocol version
  const bodyLengthAt = w.length;
  w.uint32(0);
  w.uint32(serial);
  const fieldsLengthAt = w.length;
  w.uint32(0);
  w.align(8);
  const fieldsStart = w.length;
  const field = (code: number, type: 'o' | 's' | 'g', value: string) => {
    w.align(8);
    w.byte(code);
    w.signature(type);
    if (type === 'g') w.signature(value);
    else w.string(value);
  };
  field(FIELD.path, 'o', call.path);
  field(FIELD.interface, 's', call.interface);
  field(FIELD.member, 's', call.member);
  field(FIELD.destination, 's', call.destination);
  if (args.length > 0) field(FIELD.signature, 'g', 's'.repeat(args.length));
  w.uint32At(fieldsLengthAt, w.length - fieldsStart);
  w.align(8);
  const bodyStart = w.length;
  for (const arg of args) w.string(arg);
  w.uint32At(bodyLengthAt, w.length - bodyStart);
  return w.done();
}

/** The length of the message at the start of `data`, once its fixed header is there (16 bytes), else null. */
export function messageLength(data: Buffer): number | null {
  if (data.length < 16) return null;
  const little = littleEndian(data);
  const bodyLength = little ? data.readUInt32LE(4) : data.readUInt32BE(4);
  const fieldsLength = little ? data.readUInt32LE(12) : data.readUInt32BE(12);
  return alignUp(16 + fieldsLength, 8) + bodyLength;
}

/** Decodes one whole message (its length from messageLength). Throws on anything malformed. */
export function decodeMessage(data: Buffer): BusMessage {
  const reader = new Reader(data, littleEndian(data));
  reader.offset = 1;
  const type = reader.read('y') as number;
  reader.offset = 4;
  const bodyLength = reader.read('u') as number;
  const serial = reader.read('u') as number;
  const fields = reader.read('a(yv)') as Array<[number, unknown]>;
  reader.align(8);
  const message: BusMessage = { type, serial, replySerial: null, path: null, interface: null, member: null, errorName: null, sender: null, body: [] };
  let signature = '';
  for (const [code, value] of fields) {
    if (code === FIELD.path && typeof value === 'string') message.path = value;
    else if (code === FIELD.interface && typeof value === 'string') message.interface = value;
    else if (code === FIELD.member && typeof value === 'string') message.member = value;
    else if (code === FIELD.errorName && typeof value === 'string') message.errorName = value;
    else if (code === FIELD.replySerial && typeof value === 'number') message.replySerial = value;
    else if (code === FIELD.sender && typeof value === 'string') message.sender = value;
    else if (code === FIELD.signature && typeof value === 'string') signature = value;
  }
  const end = reader.offset + bodyLength;
  if (end !== data.length) throw new Error('D-Bus message: the body length does not match');
  for (let at = 0; at < signature.length;) {
    const next = completeTypeEnd(signature, at);
    message.body.push(reader.read(signature.slice(at, next)));
    at = next;
  }
  if (reader.offset !== end) throw new Error('D-Bus message: the body is longer than its signature');
  return message;
}

function littleEndian(data: Buffer): boolean {
  if (data[0] === 0x6c) return true;
  if (data[0] === 0x42) return false;
  throw new Error('D-Bus message: unknown byte order');
}

function alignUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

/** Where the single complete type that starts at `at` in `signature` ends. */
function completeTypeEnd(signature: string, at: number): number {
  const c = signature[at];
  if (c === undefined) throw new Error('D-Bus signature: ends early');
  if (c === 'a') return completeTypeEnd(signature, at + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    if (signature[at + 1] === close) throw new Error('D-Bus signature: an empty container');
    let i = at + 1;
    while (signature[i] !== close) {
      if (i >= signature.length) throw new Error('D-Bus signature: unclosed container');
      i = completeTypeEnd(signature, i);
    }
    return i + 1;
  }
  if (!'ybnqiuxtdhsogv'.includes(c)) throw new Error(`D-Bus signature: unknown type "${c}"`);
  return at + 1;
}

const ALIGNMENT: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, v: 1, a: 4, '(': 8, '{': 8 };

class Reader {
  offset = 0;
  readonly data: Buffer;
  readonly little: boolean;

  constructor(data: Buffer, little: boolean) {
    this.data = data;
    this.little = little;
  }

  align(to: number): void {
    this.offset = alignUp(this.offset, to);
    if (this.offset > this.data.length) throw new Error('D-Bus message: ends early');
  }

  #take(bytes: number): number {
    const at = this.offset;
    if (at + bytes > this.data.length) throw new Error('D-Bus message: ends early');
    this.offset += bytes;
    return at;
  }

  /** One value of the complete type `type`. */
  read(type: string, depth = 0): unknown {
    if (depth > 32) throw new Error('D-Bus message: nested too deeply');
    const c = type[0]!;
    this.align(ALIGNMENT[c] ?? 1);
    const d = this.data;
    switch (c) {
      case 'y': return d[this.#take(1)];
      case 'b': return this.#u32() !== 0;
      case 'n': { const at = this.#take(2); return this.little ? d.readInt16LE(at) : d.readInt16BE(at); }
      case 'q': { const at = this.#take(2); return this.little ? d.readUInt16LE(at) : d.readUInt16BE(at); }
      case 'i': { const at = this.#take(4); return this.little ? d.readInt32LE(at) : d.readInt32BE(at); }
      case 'u': case 'h': return this.#u32();
      case 'x': { const at = this.#take(8); return this.little ? d.readBigInt64LE(at) : d.readBigInt64BE(at); }
      case 't': { const at = this.#take(8); return this.little ? d.readBigUInt64LE(at) : d.readBigUInt64BE(at); }
      case 'd': { const at = this.#take(8); return this.little ? d.readDoubleLE(at) : d.readDoubleBE(at); }
      case 's': case 'o': {
        const length = this.#u32();
        const at = this.#take(length + 1);
        return d.toString('utf8', at, at + length);
      }
      case 'g': {
        const length = d[this.#take(1)]!;
        const at = this.#take(length + 1);
        return d.toString('latin1', at, at + length);
      }
      case 'v': {
        const signature = this.read('g') as string;
        if (completeTypeEnd(signature, 0) !== signature.length) throw new Error('D-Bus message: a variant holds more than one type');
        return this.read(signature, depth + 1);
      }
      case 'a': {
        const length = this.#u32();
        const element = type.slice(1, completeTypeEnd(type, 1));
        this.align(ALIGNMENT[element[0]!] ?? 1);
        const end = this.offset + length;
        if (end > d.length) throw new Error('D-Bus message: an array ends past the message');
        const items: unknown[] = [];
        while (this.offset < end) {
          const before = this.offset;
          items.push(this.read(element, depth + 1));
          if (this.offset === before) throw new Error('D-Bus message: an array of empty elements');
        }
        if (this.offset !== end) throw new Error('D-Bus message: an array overruns its length');
        return items;
      }
      case '(': case '{': {
        const items: unknown[] = [];
        for (let i = 1; i < type.length - 1;) {
          const next = completeTypeEnd(type, i);
          items.push(this.read(type.slice(i, next), depth + 1));
          i = next;
        }
        return items;
      }
      default: throw new Error(`D-Bus message: unknown type "${c}"`);
    }
  }

  #u32(): number {
    const at = this.#take(4);
    return this.little ? this.data.readUInt32LE(at) : this.data.readUInt32BE(at);
  }
}
