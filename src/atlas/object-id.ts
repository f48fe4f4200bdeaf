import { randomBytes } from 'node:crypto';

// Atlas identifies everything with MongoDB ObjectIds: 4 bytes of seconds, 5 random bytes fixed
// per process, a 3-byte counter. Ids made by one process therefore sort in creation order,
// which is what list pagination relies on.

const processUnique = randomBytes(5);
let counter = randomBytes(3).readUIntBE(0, 3);

export function newObjectId(nowMs: number = Date.now()): string {
  const buf = Buffer.alloc(12);
  buf.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, 0);
  processUnique.copy(buf, 4);
  counter = (counter + 1) % 0x1000000;
  buf.writeUIntBE(counter, 9, 3);
  return buf.toString('hex');
}

const OBJECT_ID = /^[a-f0-9]{24}$/;
export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID.test(value);
}
