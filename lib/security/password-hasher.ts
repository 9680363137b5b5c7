import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { ValidationError } from "../errors";

/** scrypt cost: N = 2^ln, block size r, parallelism p. */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/**
 * N = 2^15, r = 8 (32 MiB): about 50-100 ms per hash on the reference machine,
 * slow enough to make guessing expensive, quick enough for a login. Raise it
 * later: stored hashes keep their own parameters and are rehashed at the next
 * login (`needsRehash`).
 */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1 });

export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the work one request can ask of scrypt's input stage. */
export const MAX_PASSWORD_LENGTH = 1024;

const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** What a stored hash may ask for: a corrupt or hostile row must not make scrypt allocate gigabytes. */
const LIMITS = { ln: [1, 22], r: [1, 32], p: [1, 16] } as const;

export interface PasswordHasherOptions {
  params?: ScryptParams;
  minLength?: number;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

const b64 = (buf: Buffer): string => buf.toString("base64").replace(/=+$/, "");

function scryptAsync(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  // scrypt needs 128·N·r bytes (plus a little per lane); the default cap (32 MiB) is exactly too small for ln=15.
  const maxmem = 128 * N * params.r + 128 * params.r * params.p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function inLimits(params: ScryptParams): boolean {
  return (Object.keys(LIMITS) as (keyof ScryptParams)[]).every((k) => Number.isInteger(params[k]) && params[k] >= LIMITS[k][0] && params[k] <= LIMITS[k][1]);
}

/** `$scrypt$ln=15,r=8,p=1$<salt>$<key>` (PHC string format, unpadded base64), or undefined for anything else. */
function parse(encoded: string): ParsedHash | undefined {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (!inLimits(params)) return undefined;
  const salt = Buffer.from(m[4]!, "base64");
  const key = Buffer.from(m[5]!, "base64");
  if (salt.length < 8 || key.length < 16) return undefined;
  return { params, salt, key };
}

/**
 * Passwords hashed with scrypt (node:crypto, off the event loop), each with its
 * own random salt and with its parameters in the stored string. Input is
 * Unicode-normalised (NFKC) so the same password typed on two keyboards matches.
 */
export class PasswordHasher {
  readonly params: Readonly<ScryptParams>;
  readonly minLength: number;

  constructor(options: PasswordHasherOptions = {}) {
    this.params = Object.freeze({ ...(options.params ?? DEFAULT_SCRYPT_PARAMS) });
    if (!inLimits(this.params)) throw new RangeError(`scrypt parameters out of range: ${JSON.stringify(this.params)}`);
    this.minLength = options.minLength ?? MIN_PASSWORD_LENGTH;
  }

  /** What is wrong with a new password, in words for the person choosing it, or undefined when it is acceptable. */
  problem(password: string): string | undefined {
    const length = typeof password === "string" ? [...password.normalize("NFKC")].length : 0;
    if (length === 0) return "A password is required.";
    if (length < this.minLength) return `The password must be at least ${this.minLength} characters long (it has ${length}); a few unrelated words make a good one.`;
    if (length > MAX_PASSWORD_LENGTH) return `The password must be at most ${MAX_PASSWORD_LENGTH} characters long (it has ${length}).`;
    return undefined;
  }

  /** Throws a ValidationError (422) that says what to change when a new password is not acceptable. */
  validate(password: string): void {
    const message = this.problem(password);
    if (message) throw new ValidationError(message, { issues: [{ field: "password", message }] });
  }

  /** Validates, then hashes a new password. */
  async hash(password: string): Promise<string> {
    this.validate(password);
    return this.hashUnchecked(password);
  }

  /**
   * True when `password` matches `encoded`. Never throws for a wrong or
   * malformed input: a corrupt stored hash simply matches nothing.
   */
  async verify(password: string, encoded: string): Promise<boolean> {
    if (typeof password !== "string" || typeof encoded !== "string") return false;
    const parsed = parse(encoded);
    if (!parsed) return false;
    // Over-long input gets no scrypt work, but is still a plain "no".
    if (password.length > MAX_PASSWORD_LENGTH * 4) return false;
    const key = await scryptAsync(password.normalize("NFKC"), parsed.salt, parsed.params, parsed.key.length);
    return timingSafeEqual(key, parsed.key);
  }

  /** True when `encoded` was made with other parameters than this hasher's (or cannot be read): hash again at the next login. */
  needsRehash(encoded: string): boolean {
    const parsed = parse(encoded);
    if (!parsed) return true;
    const { ln, r, p } = parsed.params;
    return ln !== this.params.ln || r !== this.params.r || p !== this.params.p || parsed.salt.length !== SALT_BYTES || parsed.key.length !== KEY_BYTES;
  }

  /**
   * Hashes an already accepted password again with the current parameters
   * (after a login with an old hash), without the policy: a password chosen
   * under an older, laxer policy still logs in.
   */
  rehash(password: string): Promise<string> {
    return this.hashUnchecked(password);
  }

  /** A hash of a password nobody knows, with the current parameters: logins for unknown users verify against it, so they take as long as real ones. */
  dummyHash(): Promise<string> {
    return this.hashUnchecked(randomBytes(24).toString("base64url"));
  }

  private async hashUnchecked(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await scryptAsync(password.normalize("NFKC"), salt, this.params, KEY_BYTES);
    const { ln, r, p } = this.params;
    return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
  }
}
