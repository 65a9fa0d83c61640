// The D-Bus wire format of the broker's own bus connection (main/core/vault/dbus-wire.ts), and
// that connection against a bus that misbehaves. The real bus is exercised by
// test/integration/vault-keychain.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeMessage, encodeCall, messageLength, MESSAGE_TYPE } from '../../main/core/vault/dbus-wire.ts';
import { SessionBus, unixSocketsOf } from '../../main/core/vault/session-bus.ts';

/** A big-endian signal with header fields member, signature and sender, and body (s, u, as). */
function bigEndianSignal(): Buffer {
  const parts: number[] = [];
  const pad = (to: number) => { while (parts.length % to) parts.push(0); };
  const u32 = (v: number) => { pad(4); parts.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255); };
  const str = (s: string) => { u32(Buffer.byteLength(s)); parts.push(...Buffer.from(s), 0); };
  const sig = (s: string) => { parts.push(s.length, ...Buffer.from(s, 'latin1'), 0); };
  parts.push(0x42, MESSAGE_TYPE.signal, 0, 1);
  u32(0); // body length, patched below
  u32(7);
  const fieldsAt = parts.length;
  u32(0);
  pad(8);
  const fieldsStart = parts.length;
  const field = (code: number, type: string, write: () => void) => { pad(8); parts.push(code); sig(type); write(); };
  field(3, 's', () => str('NameOwnerChanged'));
  field(8, 'g', () => sig('suas'));
  field(7, 's', () => str('org.freedesktop.DBus'));
  const fieldsLength = parts.length - fieldsStart;
  pad(8);
  const bodyStart = parts.length;
  str('org.freedesktop.secrets');
  u32(42);
  const arrayAt = parts.length;
  u32(0);
  const arrayStart = parts.length;
  str('a');
  str('bc');
  const buffer = Buffer.from(parts);
  buffer.writeUInt32BE(parts.length - arrayStart, arrayAt);
  buffer.writeUInt32BE(fieldsLength, fieldsAt);
  buffer.writeUInt32BE(parts.length - bodyStart, 4);
  return buffer;
}

/** `message` (little-endian) with its body and signature replaced. */
function withBody(message: Buffer, signature: string, body: Buffer): Buffer {
  const parsed = decodeMessage(message);
  const call = encodeCall(parsed.serial, { destination: 'a.b', path: parsed.path!, interface: parsed.interface!, member: parsed.member! });
  // Append a signature field to the header fields (8-aligned), then the body.
  const fieldsLength = call.readUInt32LE(12);
  const fieldsEnd = 16 + fieldsLength;
  const padded = Math.ceil(fieldsEnd / 8) * 8;
  const field = Buffer.from([8, 1, 0x67, 0, signature.length, ...Buffer.from(signature, 'latin1'), 0]);
  const header = Buffer.concat([call.subarray(0, padded), field]);
  header.writeUInt32LE(padded - 16 + field.length, 12);
  const aligned = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8)]);
  aligned.writeUInt32LE(body.length, 4);
  return Buffer.concat([aligned, body]);
}

describe('D-Bus wire format', () => {
  test('a call encodes to what the decoder reads back: fields, serial, string arguments', () => {
    const bytes = encodeCall(9, { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', args: ["type='signal',arg0='org.freedesktop.secrets'", 'ünïcode'] });
    assert.equal(messageLength(bytes), bytes.length);
    const message = decodeMessage(bytes);
    assert.equal(message.type, MESSAGE_TYPE.methodCall);
    assert.equal(message.serial, 9);
    assert.equal(message.path, '/org/freedesktop/DBus');
    assert.equal(message.interface, 'org.freedesktop.DBus');
    assert.equal(message.member, 'AddMatch');
    assert.deepEqual(message.body, ["type='signal',arg0='org.freedesktop.secrets'", 'ünïcode']);
  });

  test('a big-endian signal with an array in its body decodes', () => {
    const message = decodeMessage(bigEndianSignal());
    assert.equal(message.type, MESSAGE_TYPE.signal);
    assert.equal(message.serial, 7);
    assert.equal(message.member, 'NameOwnerChanged');
    assert.equal(message.sender, 'org.freedesktop.DBus');
    assert.deepEqual(message.body, ['org.freedesktop.secrets', 42, ['a', 'bc']]);
  });

  test('a message is not whole until its header and body are: messageLength says how long to wait', () => {
    const bytes = encodeCall(1, { destination: 'a.b', path: '/', interface: 'a.b', member: 'M' });
    assert.equal(messageLength(bytes.subarray(0, 15)), null);
    assert.equal(messageLength(bytes.subarray(0, 16)), bytes.length);
  });

  test('truncated, overlong and nonsense messages are refused with an error, never a crash or a hang', () => {
    const good = encodeCall(3, { destination: 'a.b', path: '/x', interface: 'a.b', member: 'M', args: ['hello'] });
    assert.throws(() => decodeMessage(good.subarray(0, good.length - 2)), /D-Bus message/);
    assert.throws(() => decodeMessage(Buffer.concat([good, Buffer.alloc(8)])), /D-Bus message/);
    const wrongOrder = Buffer.from(good);
    wrongOrder[0] = 0x41;
    assert.throws(() => decodeMessage(wrongOrder), /byte order/);
    // An array of empty structs would never end.
    const empty = Buffer.from(good);
    assert.throws(() => decodeMessage(withBody(empty, 'a()', Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))), /empty/);
    // Random bytes behind a valid fixed header: whatever they say, the decoder ends in an answer or an Error.
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const junk = randomBytes(16 + (i % 200));
      junk[0] = i % 2 ? 0x6c : 0x42;
      try {
        decodeMessage(junk);
      } catch (error) {
        assert.ok(error instanceof Error);
        refused++;
      }
    }
    assert.ok(refused > 19_000, `${refused} of 20,000 random messages refused`);
  });

  test('bus addresses: unix path and abstract sockets in order, escapes decoded, other transports skipped', () => {
    assert.deepEqual(unixSocketsOf('unix:path=/run/user/1000/bus'), ['/run/user/1000/bus']);
    assert.deepEqual(unixSocketsOf('tcp:host=localhost,port=1;unix:abstract=/tmp/dbus-x,guid=ab;unix:path=/tmp/a%20b'), ['\0/tmp/dbus-x', '/tmp/a b']);
    assert.deepEqual(unixSocketsOf('tcp:host=localhost,port=1'), []);
  });
});

describe('the broker\'s bus connection against a misbehaving bus', () => {
  async function fakeBus(behave: (socket: Socket) => void): Promise<{ address: string; close: () => void }> {
    const path = join(await mkdtemp(join(tmpdir(), 'tt-fake-bus-')), 'bus');
    const server = createServer(behave);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return { address: `unix:path=${path}`, close: () => server.close() };
  }

  test('a bus that refuses our authentication: a clear error, no hang', async () => {
    const bus = await fakeBus((socket) => socket.once('data', () => socket.write('REJECTED EXTERNAL\r\n')));
    try {
      await assert.rejects(SessionBus.connect(bus.address, 1000), /refused us: REJECTED/);
    } finally {
      bus.close();
    }
  });

  test('a bus that announces a 2 GB message after the handshake: the call fails at once and the connection is dropped', async () => {
    const bus = await fakeBus((socket) => {
      socket.once('data', () => {
        socket.write('OK 0123456789abcdef0123456789abcdef\r\n');
        socket.once('data', () => socket.write(Buffer.concat([Buffer.from([0x6c, 2, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]), randomBytes(64)])));
      });
    });
    try {
      const started = performance.now();
      await assert.rejects(SessionBus.connect(bus.address, 5000), /not D-Bus|message/);
      assert.ok(performance.now() - started < 1000, 'refused at once, not at the deadline');
    } finally {
      bus.close();
    }
  });
});
