// Tokens the server hands out and must recognise again unchanged: page tokens (AIP-158) and
// statement cursors. A sealed token is base64url(JSON payload) "." base64url(HMAC-SHA256), keyed
// by a secret every process on the database shares (server_secrets, made once by the first
// process), so a token from one process works on another and a forged or edited one is refused.
// The kind ("page", "entry") is part of the MAC: a token of one kind is never accepted as another.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Database } from "../db/database";
import { ServerSecret } from "../db/entities";
import { limits } from "../limits";

const SECRET_NAME = "token_seal";
/** MAC bytes kept: 128 bits, far beyond guessing. */
const MAC_BYTES = 16;

export class TokenSealer {
  constructor(private readonly key: Buffer) {}

  seal(kind: string, payload: unknown): string {
    const body = Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
    return `${body}.${this.mac(kind, body).toString("base64url")}`;
  }

  /** The payload of a token this server sealed for `kind`, or undefined for anything else. */
  open(kind: string, token: string): unknown {
    if (token.length > limits.pageTokenCharsMax || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return undefined;
    const [body, mac] = token.split(".") as [string, string];
    const given = Buffer.from(mac, "base64url");
    const expected = this.mac(kind, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as unknown;
    } catch {
      return undefined;
    }
  }

  private mac(kind: string, body: string): Buffer {
    return createHmac("sha256", this.key).update(`${kind}.${body}`).digest().subarray(0, MAC_BYTES);
  }
}

const loaded = new WeakMap<Database, Promise<TokenSealer>>();

/** The sealer of this database: its shared secret, created by the first process that asks. */
export function tokenSealer(db: Database): Promise<TokenSealer> {
  let sealer = loaded.get(db);
  if (!sealer) {
    sealer = loadSealer(db);
    loaded.set(db, sealer);
    sealer.catch(() => loaded.delete(db));
  }
  return sealer;
}

async function loadSealer(db: Database): Promise<TokenSealer> {
  const secret = await db.transaction(async (tx) => {
    // Insert-or-ignore: of processes starting at once, exactly one secret survives.
    await tx.em.createQueryBuilder(ServerSecret).insert({ name: SECRET_NAME, secret: randomBytes(32).toString("hex"), createTime: Date.now() }).onConflict("name").ignore().execute();
    return tx.em.findOneOrFail(ServerSecret, { name: SECRET_NAME });
  });
  return new TokenSealer(Buffer.from(secret.secret, "hex"));
}
