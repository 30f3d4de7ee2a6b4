/**
 * Drives the real restic binary (Debian's restic 0.14 at /usr/bin/restic)
 * for comparison tests, in a throw-away local repository.
 *
 * Speed: every restic command derives the key-file key with scrypt at the
 * parameters `restic init` calibrated (about 0.4 s of CPU). The repository
 * is only a test fixture, so after `init` we re-wrap the master key in a
 * key file with tiny scrypt parameters: restic reads it like any other key
 * file. Key file format (restic's docs, "Design", "Keys, Encryption and
 * MAC"): scrypt(password, salt, N, r, p) gives 64 bytes, 32 of AES-256 key
 * then 16 + 16 of Poly1305-AES MAC key (k, r); `data` is
 * IV(16) || AES-256-CTR(plaintext) || Poly1305-AES(ciphertext) with the
 * IV as the nonce; the file is named by the SHA-256 of its bytes.
 */
import { execFile } from "node:child_process";
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Where the Debian package installs restic. */
export const RESTIC = process.env.RESTIC_BIN ?? "/usr/bin/restic";
export const RESTIC_PASSWORD = "restorable-test";

/** Throws (failing the test) when restic is missing, with how to install it. */
export function requireRestic(): void {
  if (!existsSync(RESTIC)) {
    throw new Error(`restic not found at ${RESTIC}: this comparison test needs the real binary (Debian/Ubuntu: apt-get install restic; or set RESTIC_BIN)`);
  }
}

export interface ResticResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs restic against `repo` with time zone `tz` (restic reads and buckets times in its local zone). Rejects on a non-zero exit. */
export function restic(repo: string, args: readonly string[], tz = "UTC"): Promise<ResticResult> {
  return new Promise((resolve, reject) => {
    execFile(
      RESTIC,
      ["--no-cache", ...args],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", TZ: tz, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`restic ${args.join(" ")} (TZ=${tz}) failed: ${err.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

const P1305 = (1n << 130n) - 5n;

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** Poly1305 (RFC 8439, section 2.5) of `msg` with the 16-byte `r` (clamped here) and `s`. */
function poly1305(msg: Uint8Array, r16: Uint8Array, s16: Uint8Array): Buffer {
  const r = Buffer.from(r16);
  for (const i of [3, 7, 11, 15]) r[i]! &= 15;
  for (const i of [4, 8, 12]) r[i]! &= 252;
  const rn = littleEndian(r);
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, i + 16);
    acc = ((acc + littleEndian(block) + (1n << BigInt(8 * block.length))) * rn) % P1305;
  }
  let tag = (acc + littleEndian(s16)) & ((1n << 128n) - 1n);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(tag & 255n);
    tag >>= 8n;
  }
  return out;
}

interface ResticKeys {
  readonly enc: Buffer;
  readonly macK: Buffer;
  readonly macR: Buffer;
}

/** Poly1305-AES: s = AES-128_k(nonce). */
function mac(keys: ResticKeys, iv: Buffer, ciphertext: Buffer): Buffer {
  const aes = createCipheriv("aes-128-ecb", keys.macK, null);
  aes.setAutoPadding(false);
  return poly1305(ciphertext, keys.macR, aes.update(iv));
}

function derive(password: string, salt: Buffer, N: number, r: number, p: number): ResticKeys {
  const b = scryptSync(password, salt, 64, { N, r, p, maxmem: 1024 * 1024 * 1024 });
  return { enc: b.subarray(0, 32), macK: b.subarray(32, 48), macR: b.subarray(48, 64) };
}

function openBox(keys: ResticKeys, box: Buffer): Buffer {
  const iv = box.subarray(0, 16);
  const ct = box.subarray(16, box.length - 16);
  if (!timingSafeEqual(mac(keys, iv, ct), box.subarray(box.length - 16))) throw new Error("restic key file: MAC mismatch (wrong password?)");
  const d = createDecipheriv("aes-256-ctr", keys.enc, iv);
  return Buffer.concat([d.update(ct), d.final()]);
}

function sealBox(keys: ResticKeys, plaintext: Buffer): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv("aes-256-ctr", keys.enc, iv);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([iv, ct, mac(keys, iv, ct)]);
}

/** Re-wraps every key file of the local repository `repo` with scrypt N=16, r=1, p=1 (test fixtures only). */
export async function cheapenResticKeys(repo: string): Promise<void> {
  const dir = join(repo, "keys");
  for (const name of await readdir(dir)) {
    const file = JSON.parse(await readFile(join(dir, name), "utf8")) as { N: number; r: number; p: number; salt: string; data: string };
    const plaintext = openBox(derive(RESTIC_PASSWORD, Buffer.from(file.salt, "base64"), file.N, file.r, file.p), Buffer.from(file.data, "base64"));
    const salt = randomBytes(64);
    const body = Buffer.from(JSON.stringify({ ...file, N: 16, r: 1, p: 1, salt: salt.toString("base64"), data: sealBox(derive(RESTIC_PASSWORD, salt, 16, 1, 1), plaintext).toString("base64") }));
    await writeFile(join(dir, createHash("sha256").update(body).digest("hex")), body);
    await rm(join(dir, name));
  }
}

/** `restic init` of a new local repository at `repo` (a path that does not exist yet), keys made cheap to open. */
export async function initResticRepo(repo: string): Promise<void> {
  requireRestic();
  await restic(repo, ["init", "-q"]);
  await cheapenResticKeys(repo);
}

/**
 * A copy of the local repository `src` at `dst` (same config and master key):
 * a lane for sequential backups that run in parallel with other lanes.
 * (Concurrent restic processes on one repository hit restic's lock-file race,
 * "Load(<lock/...>) returned error, retrying after ...", and back off for
 * seconds to minutes; separate lanes never share a lock folder.)
 */
export async function forkResticRepo(src: string, dst: string): Promise<void> {
  await cp(src, dst, { recursive: true });
}

/** Copies the snapshots, index files and packs of lane `from` (a fork) into `into`; files are content-addressed, existing ones are kept. */
export async function mergeResticRepo(from: string, into: string): Promise<void> {
  for (const sub of ["data", "index", "snapshots"]) {
    await cp(join(from, sub), join(into, sub), { recursive: true, force: false, errorOnExist: false });
  }
}

/** One snapshot as `restic snapshots --json` prints it (fields we use). */
export interface ResticSnapshot {
  readonly id: string;
  readonly time: string;
  readonly paths: readonly string[];
  readonly tags?: readonly string[] | null;
}

/** One group of `restic forget --dry-run --json` (fields we use). restic 0.14 prints `reasons[i]` for `keep[i]`; its `snapshot` has no id. */
export interface ResticForgetGroup {
  readonly paths: readonly string[] | null;
  readonly tags: readonly string[] | null;
  readonly keep: readonly ResticSnapshot[] | null;
  readonly remove: readonly ResticSnapshot[] | null;
  readonly reasons: readonly { readonly snapshot: { readonly time: string }; readonly matches: readonly string[]; readonly counters: Readonly<Record<string, number>> }[] | null;
}
