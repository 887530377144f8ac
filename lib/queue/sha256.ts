// The SHA-256 the SQS client signs with (its `sha256` option): node:crypto's, as the SDK's own
// Sha256Node, except that an HMAC key becomes a KeyObject once instead of on every call. SigV4 makes
// two HMACs per request (the signing-key cache's lookup over the secret key, then the signature with
// the cached signing key), and Node 24's createHmac, given a string or a Buffer, asks whether it is
// a KeyObject and then a CryptoKey by throwing and catching an exception each time
// (internal/crypto/keys: isKeyObject, isCryptoKey). Given a KeyObject, it throws nothing: 25-29 µs
// of CPU for the two HMACs become 7-12 back to back; per send at 1 in flight, a median of 51 µs
// less over five runs (3-56; load/profile/sha256-ab.ts, load/README.md "SigV4 keys as KeyObjects").
import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from 'node:crypto';

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** The secret access key (a string) of the credentials in use; more when they rotate. */
const STRING_KEYS_MAX = 8;
const keyOfString = new Map<string, KeyObject>();
/** The signing keys the SDK caches (one per day, region and service): by identity, checked by content. */
const keyOfBytes = new WeakMap<object, { bytes: Buffer; key: KeyObject }>();

function asBuffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data)
    ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    : Buffer.from(data);
}

export function hmacKey(secret: SourceData): KeyObject {
  if (typeof secret === 'string') {
    let key = keyOfString.get(secret);
    if (key === undefined) {
      if (keyOfString.size >= STRING_KEYS_MAX) keyOfString.clear();
      key = createSecretKey(Buffer.from(secret, 'utf8'));
      keyOfString.set(secret, key);
    }
    return key;
  }
  const bytes = asBuffer(secret);
  const seen = keyOfBytes.get(secret);
  // Same object, same bytes: a caller that changed the array's content gets a key of the new content.
  if (seen?.bytes.equals(bytes)) return seen.key;
  const key = createSecretKey(Buffer.from(bytes));
  keyOfBytes.set(secret, { bytes: Buffer.from(bytes), key });
  return key;
}

/** The SDK's Checksum interface (@smithy/types), as its Sha256Node implements it. */
export class KeyedSha256 {
  readonly digestLength = 32;
  private hash: Hash | Hmac;
  private finished = false;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    if (this.finished) throw new Error('Attempted to update an already finished hash.');
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    let buf: Buffer;
    if (this.secret) {
      this.finished = true;
      buf = this.hash.digest();
    } else {
      buf = (this.hash as Hash).copy().digest();
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  reset(): void {
    this.hash = this.fresh();
    this.finished = false;
  }

  private fresh(): Hash | Hmac {
    return this.secret ? createHmac('sha256', hmacKey(this.secret)) : createHash('sha256');
  }
}
